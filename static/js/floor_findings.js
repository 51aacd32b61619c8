/* Compliance findings on the floor map: intruding areas hatched red and offending terminals ringed, each labelled
   with its rule and offender. Reads data-findings-url of #floor-editor and draws on window.sightlineFloorMap. */
(function () {
  'use strict';

  var root = document.getElementById('floor-editor');
  if (!root || !window.L || !root.dataset.findingsUrl) { return; }
  var layer = null;

  function escapeHtml(s) {
    return String(s === undefined || s === null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }
  var COLOR = { prohibited: '#b71c1c', must: '#e65100', should: '#6b7785' };

  function draw(map, data) {
    if (layer) { map.removeLayer(layer); }
    if (!map.getPane('fe-findings')) {
      map.createPane('fe-findings').style.zIndex = 395;
      map.getPane('fe-findings').style.pointerEvents = 'none';
    }
    layer = L.layerGroup().addTo(map);
    var count = 0;
    (data.features || []).forEach(function (f) {
      var p = f.properties || {}, color = COLOR[p.severity] || COLOR.should, g = f.geometry;
      var tip = { permanent: true, direction: 'top', className: 'fe-finding-label fe-finding-' + p.severity, interactive: false };
      var shape;
      if (g.type === 'Point') {
        shape = L.circleMarker(L.latLng(g.coordinates[1], g.coordinates[0]), { pane: 'fe-findings', radius: 16,
          color: color, weight: 3, dashArray: '4 3', fill: false, interactive: false });
      } else {
        shape = L.geoJSON(f, { pane: 'fe-findings', pmIgnore: true, interactive: false,
          coordsToLatLng: function (c) { return L.latLng(c[1], c[0]); },
          style: function () { return { pane: 'fe-findings', color: color, weight: 2, fillColor: color, fillOpacity: 0.35 }; } });
      }
      shape.bindTooltip(escapeHtml(p.label), tip);
      shape.addTo(layer);
      count++;
    });
    root.dataset.findings = String(count);
  }

  function load() {
    var map = window.sightlineFloorMap;
    if (!map) { return; }
    // The API answers in the Accept-Language asked for: ask for the page's language, not the browser's.
    var headers = { Accept: 'application/json', 'Accept-Language': document.documentElement.lang || 'en' };
    fetch(root.dataset.findingsUrl, { credentials: 'same-origin', headers: headers })
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); })
      .then(function (data) { draw(map, data); })
      .catch(function () { root.dataset.findings = 'error'; });
  }

  load();
  // Saves on the map re-evaluate the findings on the server: fetch them again once a save has settled.
  new MutationObserver(function () { if (root.dataset.saveState === 'saved') { load(); } })
    .observe(root, { attributes: true, attributeFilter: ['data-save-state'] });
}());
