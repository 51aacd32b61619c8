// Page behaviour that used to sit in inline handlers (the Content-Security-Policy allows no inline script).
(function () {
  'use strict';
  // <form data-confirm="question">: ask before submitting; cancelling keeps the page as it is.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);
})();
