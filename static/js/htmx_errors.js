/* htmx 2 drops 4xx responses by default. A 422 (refused value) or 403 (refused change) that answers with a page
   fragment is the server's explanation: swap it in where the request aimed (an inline-edit row shows its error;
   layout.js then moves the focus to the field the server marked). Whole error pages are left alone. */
(function () {
  'use strict';
  var EXPLAINED = [403, 409, 422];

  function isFragment(text) {
    return typeof text === 'string' && !/^\s*<(!doctype|html)/i.test(text);
  }

  document.addEventListener('htmx:beforeSwap', function (ev) {
    var xhr = ev.detail.xhr;
    if (EXPLAINED.indexOf(xhr.status) !== -1 && isFragment(xhr.responseText)) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
    }
  });
}());
