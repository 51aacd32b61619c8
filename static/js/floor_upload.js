/* Upload page: show the server's 422 error fragments (htmx 2 does not swap 4xx responses by default). */
(function () {
  'use strict';
  document.body.addEventListener('htmx:beforeSwap', function (ev) {
    if (ev.detail.xhr.status === 422 || ev.detail.xhr.status === 413) {
      ev.detail.shouldSwap = true;
      ev.detail.isError = false;
      if (ev.detail.xhr.status === 413) {
        ev.detail.serverResponse = '<p class="flash error" role="alert" id="upload-error">The file is larger than the upload limit.</p>';
      }
    }
  });
}());
