// Page layout helpers on every page (no inline scripts: the CSP forbids them).
// 1. The top bar's menu button (shown on narrow screens only, by CSS) folds the links, the user and the language
//    switch behind one button. Without JavaScript the bar stays unfolded and wraps instead.
// 2. A table or code block that is wider than its box scrolls inside it (CSS); it is made focusable, so keyboard
//    users can scroll it with the arrow keys too.
(function () {
  'use strict';
  var bar = document.querySelector('.topbar');
  var button = bar && bar.querySelector('.menu-toggle');
  if (button) {
    bar.classList.add('collapsible');
    var setOpen = function (open) {
      bar.classList.toggle('open', open);
      button.setAttribute('aria-expanded', open ? 'true' : 'false');
    };
    button.addEventListener('click', function () { setOpen(!bar.classList.contains('open')); });
    document.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && bar.classList.contains('open')) {
        setOpen(false);
        button.focus();
      }
    });
  }

  function markScrollers() {
    document.querySelectorAll('table.grid, pre.json, .guide table').forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth + 1;
      if (scrolls && !box.hasAttribute('tabindex')) {
        box.setAttribute('tabindex', '0');
        box.dataset.scrollFocus = '1';
      } else if (!scrolls && box.dataset.scrollFocus) {
        box.removeAttribute('tabindex');
        delete box.dataset.scrollFocus;
      }
    });
  }
  // Keyboard focus follows an inline edit: into the row's first field when it opens (the refused field after a
  // failed save), back to its Edit button when
  // it closes (htmx swaps the whole row, which would otherwise drop the focus to the page's start).
  document.addEventListener('htmx:afterSettle', function (event) {
    var old = event.detail && event.detail.target;
    var row = old && old.id ? document.getElementById(old.id) : null;
    var active = document.activeElement;
    var lost = !active || active === document.body || !document.contains(active);
    if (!row || row.tagName !== 'TR' || !(lost || row.contains(active))) { return; }
    var target = row.classList.contains('editing')
      ? row.querySelector('[aria-invalid=true]') || row.querySelector('input:not([type=hidden]), select')
      : row.querySelector('button') || row.querySelector('a[href]');
    if (target) { target.focus(); }
  });

  var pending = null;
  function later() { clearTimeout(pending); pending = setTimeout(markScrollers, 100); }
  document.addEventListener('DOMContentLoaded', markScrollers);
  window.addEventListener('resize', later);
  document.addEventListener('htmx:afterSettle', later);
}());
