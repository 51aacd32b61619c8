// The top bar's menu button (shown on narrow screens only, by CSS): folds the links, the user and the language
// switch behind one button. Without JavaScript the bar stays unfolded and wraps instead.
(function () {
  'use strict';
  var bar = document.querySelector('.topbar');
  var button = bar && bar.querySelector('.menu-toggle');
  if (!button) { return; }
  bar.classList.add('collapsible');

  function setOpen(open) {
    bar.classList.toggle('open', open);
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  button.addEventListener('click', function () { setOpen(!bar.classList.contains('open')); });
  document.addEventListener('keydown', function (event) {
    if (event.key === 'Escape' && bar.classList.contains('open')) {
      setOpen(false);
      button.focus();
    }
  });
}());
