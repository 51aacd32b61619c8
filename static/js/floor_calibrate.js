/* Scale calibration: click two points on the plan (image pixels, y down), type their real distance. */
(function () {
  'use strict';
  var t = window.sightlineT || function (s, vars, fallback) { return fallback === undefined ? s : fallback; };
  var box = document.getElementById('calibrate-map');
  if (!box || !window.L) { return; }
  var w = +box.dataset.width, h = +box.dataset.height;
  var form = document.getElementById('calibrate-form');
  var hint = document.getElementById('cal-hint');
  // Pixel (x, y down) <-> LatLng(-y, x) in CRS.Simple.
  function toLL(x, y) { return L.latLng(-y, x); }
  function toPx(ll) { return [Math.round(ll.lng * 10) / 10, Math.round(-ll.lat * 10) / 10]; }
  var map = L.map(box, { crs: L.CRS.Simple, minZoom: -6, maxZoom: 4, zoomSnap: 0.25, attributionControl: false,
    doubleClickZoom: false });
  window.sightlineCalibrateMap = map;
  var bounds = L.latLngBounds(toLL(0, h), toLL(w, 0));
  L.imageOverlay(box.dataset.image, bounds).addTo(map);
  map.fitBounds(bounds);
  var markers = { 1: null, 2: null, o: null }, line = null, next = 1, originMode = false;

  function icon(cls) { return L.divIcon({ className: 'cal-pt ' + cls, iconSize: [12, 12], iconAnchor: [6, 6] }); }
  function setInputs(key, px) {
    var names = key === 'o' ? ['ox', 'oy'] : ['x' + key, 'y' + key];
    form.elements[names[0]].value = px[0];
    form.elements[names[1]].value = px[1];
  }
  function put(key, ll) {
    if (!markers[key]) {
      markers[key] = L.marker(ll, { icon: icon(key === 'o' ? 'origin' : ''), draggable: true }).addTo(map);
      markers[key].on('drag', function () { setInputs(key, toPx(markers[key].getLatLng())); drawLine(); });
    } else { markers[key].setLatLng(ll); }
    setInputs(key, toPx(ll));
    drawLine();
  }
  function drawLine() {
    if (!markers[1] || !markers[2]) { return; }
    var a = markers[1].getLatLng(), b = markers[2].getLatLng();
    if (line) { line.setLatLngs([a, b]); } else { line = L.polyline([a, b], { color: '#1f6feb', weight: 2, dashArray: '6 4' }).addTo(map); }
    var px = Math.hypot(a.lat - b.lat, a.lng - b.lng);
    hint.textContent = t('The two points are %(px)s px apart; type their real distance in metres.', { px: px.toFixed(1) });
  }
  map.on('click', function (e) {
    if (originMode) { put('o', e.latlng); originMode = false; hint.textContent = t('Origin set.'); return; }
    put(next, e.latlng);
    next = next === 1 ? 2 : 1;
    if (next === 2) { hint.textContent = t('Click point 2.'); }
  });
  document.getElementById('cal-origin-mode').addEventListener('click', function () {
    originMode = true; hint.textContent = t('Click the point that should be (0, 0).');
  });
  // Show points already typed in (or saved before).
  ['1', '2'].forEach(function (k) {
    var x = parseFloat(form.elements['x' + k].value), y = parseFloat(form.elements['y' + k].value);
    if (!isNaN(x) && !isNaN(y)) { put(+k, toLL(x, y)); next = k === '1' ? 2 : 1; }
  });
}());
