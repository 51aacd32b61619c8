// On-site checklist: refusals (409/422) replace the card with their reason, taps on a floor map fill x/y,
// and answers given while offline are kept on the phone and sent when the connection is back.
(function () {
  'use strict';
  var QUEUE_KEY = 'sightline-inspection-pending';

  document.body.addEventListener('htmx:beforeSwap', function (ev) {
    var status = ev.detail.xhr.status;
    if (status === 409 || status === 422) { ev.detail.shouldSwap = true; ev.detail.isError = false; }
  });

  // ---- maps: one drawing per floor, cloned into a card when its details open
  function fillSlot(slot) {
    var floor = slot.dataset.floor;
    var source = document.querySelector('.maps figure.map[data-floor="' + floor + '"]');
    slot.innerHTML = '';
    if (!source) { return; }
    var copy = source.cloneNode(true);
    copy.classList.add('pickable');
    slot.appendChild(copy);
    var form = slot.closest('form');
    var x = form && form.querySelector('input[name=x]'), y = form && form.querySelector('input[name=y]');
    if (x && y && x.value !== '' && y.value !== '') { mark(copy, parseFloat(x.value), parseFloat(y.value)); }
  }

  function mark(figure, x, y) {
    var svg = figure.querySelector('svg');
    var flip = parseFloat(figure.dataset.flip);
    var old = svg.querySelector('.pick-mark');
    if (old) { old.remove(); }
    var dot = document.createElementNS('http://www.w3.org/2000/svg', 'circle');
    dot.setAttribute('class', 'pick-mark');
    dot.setAttribute('cx', x); dot.setAttribute('cy', flip - y); dot.setAttribute('r', '0.6');
    dot.setAttribute('fill', '#c62828'); dot.setAttribute('stroke', '#fff'); dot.setAttribute('stroke-width', '0.15');
    svg.appendChild(dot);
  }

  function prepare(root) {
    root.querySelectorAll('details.more').forEach(function (d) {
      if (d.open) { fillSlot(d.querySelector('.map-slot')); }
      d.addEventListener('toggle', function () { if (d.open) { fillSlot(d.querySelector('.map-slot')); } });
    });
    root.querySelectorAll('.map-slot[data-follow-select]').forEach(function (slot) {
      var select = slot.closest('form').querySelector('select[name=' + slot.dataset.followSelect + ']');
      slot.dataset.floor = select.value;
      fillSlot(slot);
      select.addEventListener('change', function () { slot.dataset.floor = select.value; fillSlot(slot); });
    });
  }

  document.addEventListener('click', function (ev) {
    var figure = ev.target.closest && ev.target.closest('figure.pickable');
    if (!figure) { return; }
    var svg = figure.querySelector('svg');
    var pt = svg.createSVGPoint();
    pt.x = ev.clientX; pt.y = ev.clientY;
    var p = pt.matrixTransform(svg.getScreenCTM().inverse());
    var x = p.x, y = parseFloat(figure.dataset.flip) - p.y;
    var form = figure.closest('form');
    form.querySelector('input[name=x]').value = x.toFixed(2);
    form.querySelector('input[name=y]').value = y.toFixed(2);
    mark(figure, x, y);
  });

  // A chosen photo goes up at once (no inline handler: the CSP forbids them).
  document.addEventListener('change', function (ev) {
    if (ev.target.matches && ev.target.matches('input[data-autosubmit]')) { ev.target.form.submit(); }
  });

  // ---- offline: keep the answer, send it later
  function queue() { try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || '{}'); } catch (e) { return {}; } }
  function store(q) { localStorage.setItem(QUEUE_KEY, JSON.stringify(q)); }

  function showPending(card, on) {
    if (!card) { return; }
    card.classList.toggle('pending', on);
    var note = card.querySelector('.pending-note');
    if (note) { note.hidden = !on; }
  }

  document.body.addEventListener('htmx:sendError', function (ev) {
    var photoForm = ev.detail.elt.closest && ev.detail.elt.closest('form.photo');
    if (photoForm) {
      // Photos are too big to keep on the phone: say so, and let the inspector try again.
      var note = photoForm.querySelector('.error') || document.createElement('p');
      note.className = 'error'; note.setAttribute('role', 'alert');
      note.textContent = photoForm.dataset.offlineMessage;
      photoForm.appendChild(note);
      return;
    }
    var form = ev.detail.elt.closest && ev.detail.elt.closest('form[data-offline-queue]');
    if (!form) { return; }
    var params = {};
    var data = ev.detail.requestConfig.formData;
    if (data && data.forEach) { data.forEach(function (value, key) { params[key] = value; }); }
    else { params = ev.detail.requestConfig.parameters || {}; }
    var q = queue();
    q[form.getAttribute('hx-post')] = {params: params, target: form.getAttribute('hx-target')};
    store(q);
    showPending(document.querySelector(form.getAttribute('hx-target')), true);
  });

  var flushing = false;
  function flush() {
    var q = queue();
    var urls = Object.keys(q);
    if (!urls.length || flushing || !navigator.onLine) { return; }
    flushing = true;
    var token = document.querySelector('meta[name=csrf-token]').content;
    Promise.all(urls.map(function (url) {
      var entry = q[url];
      return fetch(url, {method: 'POST', body: new URLSearchParams(entry.params), credentials: 'same-origin',
                         headers: {'X-CSRFToken': token, 'HX-Request': 'true'}})
        .then(function (response) {
          return response.text().then(function (html) {
            var latest = queue(); delete latest[url]; store(latest);
            var card = document.querySelector(entry.target);
            if (card) { card.outerHTML = html; var fresh = document.querySelector(entry.target); htmx.process(fresh); prepare(fresh); }
          });
        })
        .catch(function () { /* still offline: keep it for the next try */ });
    })).finally(function () { flushing = false; });
  }

  document.body.addEventListener('htmx:afterSwap', function (ev) { prepare(ev.detail.elt.parentNode || document); });
  window.addEventListener('online', flush);
  setInterval(flush, 5000);
  document.addEventListener('DOMContentLoaded', function () {
    prepare(document);
    Object.keys(queue()).forEach(function (url) { showPending(document.querySelector(queue()[url].target), true); });
    flush();
  });
})();
