// Page behaviour that used to sit in inline handlers (the Content-Security-Policy allows no inline script).
(function () {
  'use strict';
  // <input data-autosubmit>: submit its form as soon as the value changes (a photo picked, a choice made).
  document.addEventListener('change', function (event) {
    var field = event.target;
    if (field.matches && field.matches('[data-autosubmit]') && field.form) {
      if (field.form.requestSubmit) { field.form.requestSubmit(); } else { field.form.submit(); }
    }
  });
  // <form data-confirm="question">: ask before submitting; cancelling keeps the page as it is.
  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);
})();
