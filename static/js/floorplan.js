/* Sightline floor editor: Leaflet (L.CRS.Simple, metres, y up) + Leaflet-Geoman, no build step.
 *
 * GeoJSON [x, y] maps to Leaflet's LatLng(y, x), so features round-trip through toGeoJSON unchanged.
 * The editor keeps the whole floor as one sightline-floor/1 collection and saves it with PUT; the server
 * validates it all-or-nothing, so a failed save leaves the server as it was and the edit stays here.
 * Every feature keeps its stable id (GeoJSON `id`; terminals `properties.id`) and its geometry exactly as
 * loaded unless it was edited here, so the server updates only what changed.
 * Wedge radii are the server's tier ranges (editor JSON `ranges`), never computed here.
 */
(function () {
  'use strict';
  var CHOICE = 'choice:'; // ui_strings() keys the choice labels as choice:<value>
  var t = window.sightlineT || function (s, vars, fallback) { return fallback === undefined ? s : fallback; };

  var root = document.getElementById('floor-editor');
  if (!root || !window.L) { return; }

  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var urls = {
    state: root.dataset.stateUrl,
    geojson: root.dataset.geojsonUrl,
    overlays: root.dataset.overlaysUrl,
    zones: root.dataset.zonesUrl,
    terminal: root.dataset.terminalUrl
  };
  var el = {
    toolbar: root.querySelector('[data-role=toolbar]'),
    status: root.querySelector('[data-role=status]'),
    panel: root.querySelector('[data-role=panel]'),
    coords: root.querySelector('[data-role=coords]'),
    error: root.querySelector('[data-role=error]'),
    summary: root.querySelector('[data-role=summary]')
  };
  var PLACEHOLDER_RANGE_M = 5; // a camera placed here has no server range until its first save
  var SAVE_DELAY_MS = 700;

  var map = L.map(root.querySelector('.fe-map'), {
    crs: L.CRS.Simple, minZoom: -6, maxZoom: 7, zoomSnap: 0.25, zoomDelta: 0.5,
    zoomAnimation: false, attributionControl: false, doubleClickZoom: false
  }).setView([0, 0], 0); // layers added before the map has a view would have no SVG path yet

  window.sightlineFloorMap = map; // for the browser tests and the console
  // Labels are laid out again after every zoom, pan and edit (map_labels.js); a no-op where that script is absent.
  var relabel = window.sightlineMapLabels ? window.sightlineMapLabels.watch(map) : function () {};
  [['fe-bg', 150], ['fe-zones', 350], ['fe-views', 380], ['fe-intrusions', 390], ['fe-structure', 400]]
    .forEach(function (p) { map.createPane(p[0]).style.zIndex = p[1]; });
  map.getPane('fe-views').style.pointerEvents = 'none';
  map.getPane('fe-intrusions').style.pointerEvents = 'none';

  var state = {
    canEdit: false, canEditZones: false, templates: { uses: [], always_private: [] }, background: null, ranges: {},
    items: [],            // {feature, layer} or, for terminals, {feature, marker, wedge, handle}
    selected: null, tool: 'select',
    current: null,        // JSON text of the collection as last edited
    undo: [], saveTimer: null, saving: false, dirty: false, savedOnce: false, savedIds: {}, name: '', lastSaved: null,
    overlayLayer: L.layerGroup().addTo(map), heatLayer: L.layerGroup(), viewsByTerminal: {}, coverage: {}
  };

  // ------------------------------------------------------------------ geometry helpers
  function ll(xy) { return L.latLng(xy[1], xy[0]); }
  function toLatLngs(geom) {
    if (geom.type === 'Point') { return ll(geom.coordinates); }
    if (geom.type === 'LineString') { return geom.coordinates.map(ll); }
    return geom.coordinates.map(function (ring) { return ring.map(ll); }); // Polygon
  }
  function round(v) { return Math.round(v * 1000) / 1000; }
  function geometryOf(layer) {
    var g = layer.toGeoJSON(6).geometry;
    if (g.type === 'MultiLineString') { g = { type: 'LineString', coordinates: g.coordinates[0] }; }
    if (g.type === 'MultiPolygon') { g = { type: 'Polygon', coordinates: g.coordinates[0] }; }
    return g;
  }
  function detectRange(p) {
    // The server's detect-tier range (planner's tier_range) for this terminal as last saved.
    var r = state.ranges[p.id];
    return r && r.detect ? +r.detect : PLACEHOLDER_RANGE_M;
  }
  function heading(v) {
    // The heading rule of planner.floor.normalise_heading: [0, 360), and -1e-20 is 0, not 360.
    var h = v % 360;
    if (h < 0) { h += 360; }
    return h >= 360 ? 0 : h;
  }
  function sector(x, y, heading, hfov, radius) {
    var pts = [], steps = Math.max(8, Math.ceil(hfov / 4)), start = heading - hfov / 2;
    if (hfov < 360) { pts.push(L.latLng(y, x)); }
    for (var i = 0; i <= steps; i++) {
      var a = (start + hfov * i / steps) * Math.PI / 180;
      pts.push(L.latLng(y + radius * Math.sin(a), x + radius * Math.cos(a)));
    }
    return pts;
  }

  // ------------------------------------------------------------------ background (pixel image -> metres)
  var AffineImage = L.Layer.extend({
    initialize: function (url, corners, width, height) {
      this._url = url; this._corners = corners; this._w = width; this._h = height;
    },
    onAdd: function (m) {
      this._img = L.DomUtil.create('img', 'fe-bg-image');
      this._img.src = this._url;
      this._img.alt = '';
      this._img.style.width = this._w + 'px';
      this._img.style.height = this._h + 'px';
      m.getPane('fe-bg').appendChild(this._img);
      m.on('zoom viewreset zoomend', this._update, this);
      this._update();
    },
    onRemove: function (m) {
      L.DomUtil.remove(this._img);
      m.off('zoom viewreset zoomend', this._update, this);
    },
    _update: function () {
      // Corners are top-left, top-right, bottom-right, bottom-left in metres: an affine map covers rotation.
      var m = this._map, c = this._corners;
      var p0 = m.latLngToLayerPoint(ll(c[0])), p1 = m.latLngToLayerPoint(ll(c[1])), p3 = m.latLngToLayerPoint(ll(c[3]));
      var a = (p1.x - p0.x) / this._w, b = (p1.y - p0.y) / this._w, cc = (p3.x - p0.x) / this._h, d = (p3.y - p0.y) / this._h;
      this._img.style.transform = 'matrix(' + [a, b, cc, d, p0.x, p0.y].join(',') + ')';
    }
  });

  // ------------------------------------------------------------------ styles
  var ZONE_STYLE = {
    private: { color: '#c62828', weight: 2, fillColor: '#c62828', fillOpacity: 0.18 },
    required: { color: '#1f6feb', weight: 2, fillColor: '#1f6feb', fillOpacity: 0.12 },
    general: { color: '#8a94a0', weight: 1.5, fillColor: '#8a94a0', fillOpacity: 0.07 }
  };
  function styleFor(f) {
    var p = f.properties;
    if (p.kind === 'outline') { return { color: '#1d2733', weight: 3, fill: false, pane: 'fe-structure' }; }
    if (p.kind === 'opening') { return { color: '#2e7d32', weight: 5, dashArray: '6 4', pane: 'fe-structure' }; }
    if (p.kind === 'wall') {
      if (f.geometry.type === 'Polygon') {
        return { color: '#222', weight: 1, fillColor: '#555', fillOpacity: p.see_through ? 0.2 : 0.85, pane: 'fe-structure' };
      }
      return p.see_through ? { color: '#5fa8d3', weight: 4, dashArray: '5 4', pane: 'fe-structure' }
        : { color: '#222', weight: 4, pane: 'fe-structure' };
    }
    var s = L.extend({}, ZONE_STYLE[p.zone] || ZONE_STYLE.general);
    s.pane = 'fe-zones';
    s.className = 'fe-zone fe-zone-' + (p.zone || 'general');
    return s;
  }
  function ensureHatch() {
    var svg = map.getPane('fe-zones').querySelector('svg');
    if (!svg || svg.querySelector('#fe-hatch')) { return; }
    var ns = 'http://www.w3.org/2000/svg';
    var defs = document.createElementNS(ns, 'defs');
    var pat = document.createElementNS(ns, 'pattern');
    pat.setAttribute('id', 'fe-hatch'); pat.setAttribute('width', '8'); pat.setAttribute('height', '8');
    pat.setAttribute('patternUnits', 'userSpaceOnUse'); pat.setAttribute('patternTransform', 'rotate(45)');
    var bg = document.createElementNS(ns, 'rect');
    bg.setAttribute('width', '8'); bg.setAttribute('height', '8'); bg.setAttribute('fill', 'rgba(198,40,40,0.10)');
    var line = document.createElementNS(ns, 'rect');
    line.setAttribute('width', '3'); line.setAttribute('height', '8'); line.setAttribute('fill', 'rgba(198,40,40,0.45)');
    pat.appendChild(bg); pat.appendChild(line); defs.appendChild(pat); svg.insertBefore(defs, svg.firstChild);
  }

  // ------------------------------------------------------------------ items
  function editable(kind) {
    // Managers edit everything; planners only zones (their coverage requirements).
    return state.canEdit || (state.canEditZones && kind === 'zone');
  }

  function addItem(feature) {
    var kind = feature.properties.kind;
    if (kind === 'terminal') { return addTerminal(feature); }
    var style = styleFor(feature);
    style.pmIgnore = !editable(kind);
    var layer = feature.geometry.type === 'LineString' ? L.polyline(toLatLngs(feature.geometry), style)
      : L.polygon(toLatLngs(feature.geometry), style);
    var item = { feature: feature, layer: layer };
    layer.addTo(map);
    layer.on('click', function (e) {
      // While drawing, the click must reach the map so Geoman places a vertex on top of existing zones.
      if (state.tool === 'select') { L.DomEvent.stopPropagation(e); select(item); }
    });
    layer.on('pm:edit pm:dragend', function () { item.edited = true; changed(); });
    state.items.push(item);
    if (kind === 'zone') {
      ensureHatch(); layer.bringToBack();
      if (feature.properties.name) { // zone names on the map (not clickable: the zone itself is)
        layer.bindTooltip(escapeHtml(feature.properties.name), { permanent: true, direction: 'center', className: 'fe-zone-label', interactive: false });
      }
    }
    return item;
  }

  function camIcon(p, selected) {
    var color = p.type === 'face_terminal' ? '#b26a00' : p.type === 'access_reader' ? '#6b7785' : '#1d2733';
    // No style attribute here (the CSP allows none): updateIcon turns the icon once Leaflet has made it.
    var html = '<svg width="24" height="24" viewBox="-12 -12 24 24">' +
      '<path d="M 4 -4 L 11 0 L 4 4 Z" fill="' + color + '"/><circle r="6" fill="' + color + '" stroke="#fff" stroke-width="2"/></svg>' +
      '<span class="lbl">' + escapeHtml(p.id) + '</span>';
    var info = state.coverage[p.id];
    var cls = 'fe-cam' + (selected ? ' selected' : '') + (info && info.forbidden ? ' forbidden' : '');
    return L.divIcon({ className: cls, html: html, iconSize: [24, 24], iconAnchor: [12, 12] });
  }

  function updateIcon(item) {
    // Change the icon's element in place: replacing it (setIcon) in the middle of a drag would end the drag.
    var icon = item.marker._icon, p = item.feature.properties, info = state.coverage[p.id];
    if (!icon) { return; }
    icon.querySelector('svg').style.transform = 'rotate(' + (-(+p.heading_deg || 0)) + 'deg)';
    icon.querySelector('.lbl').textContent = p.id;
    L.DomUtil[state.selected === item ? 'addClass' : 'removeClass'](icon, 'selected');
    L.DomUtil[info && info.forbidden ? 'addClass' : 'removeClass'](icon, 'forbidden');
  }

  function handleDistance() {
    // The rotate handle sits 45 screen pixels from the camera whatever the zoom.
    return 45 / Math.pow(2, map.getZoom());
  }

  function addTerminal(feature) {
    var p = feature.properties, xy = feature.geometry.coordinates;
    var item = { feature: feature, stale: true };
    item.wedge = L.polygon(sector(xy[0], xy[1], +p.heading_deg || 0, +p.hfov_deg || 90, detectRange(p)), {
      pane: 'fe-views', color: '#b26a00', weight: 1, dashArray: '4 3', fillColor: '#ffc107', fillOpacity: 0.18,
      interactive: false, pmIgnore: true
    }).addTo(map);
    item.marker = L.marker(ll(xy), { icon: camIcon(p, false), draggable: state.canEdit, pmIgnore: true, keyboard: false,
      title: p.id });
    item.marker.on('add', function () { updateIcon(item); });
    item.marker.addTo(map);
    item.marker.on('click', function (e) { L.DomEvent.stopPropagation(e); select(item); });
    item.marker.on('dragstart', function () { select(item); item.stale = true; showWedge(item); });
    item.marker.on('drag', function () { moveTerminal(item, item.marker.getLatLng()); });
    item.marker.on('dragend', function () { moveTerminal(item, item.marker.getLatLng()); changed(); });
    state.items.push(item);
    return item;
  }

  function moveTerminal(item, latlng) {
    item.feature.geometry.coordinates = [round(latlng.lng), round(latlng.lat)];
    refreshTerminal(item);
    syncPanel(item);
  }

  function refreshTerminal(item) {
    var p = item.feature.properties, xy = item.feature.geometry.coordinates;
    item.marker.setLatLng(ll(xy));
    updateIcon(item);
    item.wedge.setLatLngs(sector(xy[0], xy[1], +p.heading_deg || 0, +p.hfov_deg || 90, detectRange(p)));
    if (item.handle) { placeHandle(item); }
    showWedge(item);
  }

  function showWedge(item) {
    var server = state.viewsByTerminal[item.feature.properties.id];
    var useServer = server && !item.stale;
    item.wedge.setStyle({ opacity: useServer ? 0 : 1, fillOpacity: useServer ? 0 : 0.18 });
    (server || []).forEach(function (l) { l.setStyle({ opacity: useServer ? 1 : 0, fillOpacity: useServer ? 0.3 : 0 }); });
  }

  function placeHandle(item) {
    var p = item.feature.properties, xy = item.feature.geometry.coordinates, a = (+p.heading_deg || 0) * Math.PI / 180;
    var d = handleDistance();
    item.handle.setLatLng(L.latLng(xy[1] + d * Math.sin(a), xy[0] + d * Math.cos(a)));
  }

  function addHandle(item) {
    if (!state.canEdit || item.handle) { return; }
    item.handle = L.marker([0, 0], {
      icon: L.divIcon({ className: 'fe-rot', iconSize: [14, 14], iconAnchor: [7, 7] }), draggable: true,
      pmIgnore: true, title: t('Drag to turn the camera'), zIndexOffset: 1000
    }).addTo(map);
    placeHandle(item);
    item.handle.on('dragstart', function () { item.stale = true; });
    item.handle.on('drag', function () {
      var xy = item.feature.geometry.coordinates, h = item.handle.getLatLng();
      var angle = Math.atan2(h.lat - xy[1], h.lng - xy[0]) * 180 / Math.PI;
      item.feature.properties.heading_deg = round(heading(angle));
      item.wedge.setLatLngs(sector(xy[0], xy[1], item.feature.properties.heading_deg, +item.feature.properties.hfov_deg || 90,
        detectRange(item.feature.properties)));
      updateIcon(item);
      showWedge(item);
      syncPanel(item);
    });
    item.handle.on('dragend', function () { placeHandle(item); changed(); });
  }

  function removeItem(item) {
    ['layer', 'marker', 'wedge', 'handle'].forEach(function (k) { if (item[k]) { map.removeLayer(item[k]); } });
    state.items = state.items.filter(function (i) { return i !== item; });
    if (state.selected === item) { state.selected = null; renderPanel(); }
  }

  function clearItems() { state.items.slice().forEach(removeItem); }

  function collection() {
    var features = state.items.map(function (item) {
      var f = item.feature, out = { type: 'Feature' };
      if (f.id !== undefined && f.id !== null) { out.id = f.id; }
      // Geometry as loaded unless edited here: Leaflet's toGeoJSON rounds it, which would be a change.
      out.geometry = f.properties.kind === 'terminal' || !item.edited ? f.geometry : geometryOf(item.layer);
      out.properties = f.properties;
      return out;
    });
    var order = { outline: 0, wall: 1, opening: 2, zone: 3, terminal: 4 };
    features.sort(function (a, b) { return order[a.properties.kind] - order[b.properties.kind]; });
    return { type: 'FeatureCollection', format: 'sightline-floor/1', name: state.name, features: features };
  }

  function load(fc) {
    clearItems();
    (fc.features || []).forEach(function (f) { addItem(JSON.parse(JSON.stringify(f))); });
  }

  // ------------------------------------------------------------------ changes, undo, autosave
  function changed() {
    if (state.current !== null) { state.undo.push(state.current); }
    if (state.undo.length > 200) { state.undo.shift(); }
    state.current = JSON.stringify(collection());
    state.items.forEach(function (i) { if (i.marker) { i.stale = true; showWedge(i); } });
    state.dirty = true;
    relabel();
    setStatus('unsaved', t('Unsaved changes'));
    clearTimeout(state.saveTimer);
    state.saveTimer = setTimeout(save, SAVE_DELAY_MS);
  }

  function undo() {
    if (!state.undo.length) { setStatus(state.dirty ? 'unsaved' : 'saved', t('Nothing to undo')); return; }
    var selectedId = state.selected && state.selected.feature.properties.id;
    state.current = state.undo.pop();
    load(JSON.parse(state.current));
    state.selected = null;
    if (selectedId) {
      var again = state.items.filter(function (i) { return i.feature.properties.id === selectedId; })[0];
      if (again) { select(again); } else { renderPanel(); }
    } else { renderPanel(); }
    state.dirty = true;
    setStatus('unsaved', t('Unsaved changes'));
    clearTimeout(state.saveTimer);
    state.saveTimer = setTimeout(save, SAVE_DELAY_MS);
  }

  function ensureOutline() {
    // sightline-floor/1 needs an outline: without one, take the calibrated plan's extent or the drawing's bounds.
    if (state.items.some(function (i) { return i.feature.properties.kind === 'outline'; })) { return; }
    var ring = null;
    if (state.background && state.background.corners) {
      ring = state.background.corners.map(function (c) { return [round(c[0]), round(c[1])]; });
    } else {
      var b = null;
      state.items.forEach(function (i) {
        var bb = i.layer ? i.layer.getBounds() : L.latLngBounds([i.marker.getLatLng()]);
        b = b ? b.extend(bb) : L.latLngBounds(bb.getSouthWest(), bb.getNorthEast());
      });
      if (!b) { return; }
      var x0 = round(b.getWest() - 1), y0 = round(b.getSouth() - 1), x1 = round(b.getEast() + 1), y1 = round(b.getNorth() + 1);
      ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
    }
    ring.push(ring[0]);
    addItem({ type: 'Feature', geometry: { type: 'Polygon', coordinates: [ring] }, properties: { kind: 'outline' } });
  }

  function save() {
    if (state.saving) { clearTimeout(state.saveTimer); state.saveTimer = setTimeout(save, SAVE_DELAY_MS); return; }
    if (state.canEdit) { ensureOutline(); }
    var body = JSON.stringify(collection());
    state.current = body;
    state.saving = true;
    setStatus('saving', t('Saving…'));
    var zonesOnly = !state.canEdit;
    var payload = zonesOnly ? JSON.stringify({ features: JSON.parse(body).features.filter(function (f) {
      return f.properties.kind === 'zone'; }) }) : body;
    fetch(zonesOnly ? urls.zones : urls.geojson, {
      method: 'PUT', credentials: 'same-origin', body: payload,
      headers: { 'Content-Type': 'application/json', 'X-CSRFToken': csrf, Accept: 'application/json' }
    }).then(function (r) {
      return r.json().catch(function () { return { error: 'HTTP ' + r.status }; }).then(function (data) {
        return { ok: r.ok, status: r.status, data: data };
      });
    }).then(function (res) {
      state.saving = false;
      if (!res.ok) { return failed(res.data.field ? res.data.field + ': ' + res.data.error : res.data.error || ('HTTP ' + res.status)); }
      if (terminalsOf(state.lastSaved) !== terminalsOf(body)) { refreshTable(); }
      if (res.data.ranges) {
        state.ranges = res.data.ranges;
        state.items.forEach(function (i) { if (i.marker) { refreshTerminal(i); } });
      }
      if (state.current === body && res.data.floor) {
        adoptIds(res.data.floor);
        body = state.current = JSON.stringify(collection());
      }
      state.lastSaved = body;
      if (state.current === body) { state.dirty = false; }
      state.savedOnce = true;
      JSON.parse(body).features.forEach(function (f) { if (f.properties.kind === 'terminal') { state.savedIds[f.properties.id] = true; } });
      hideError();
      setStatus(state.dirty ? 'unsaved' : 'saved', state.dirty ? t('Unsaved changes') : t('Saved %(time)s', { time: new Date().toLocaleTimeString() }));
      loadOverlays();
    }).catch(function (err) {
      state.saving = false;
      failed(t('network error: %(error)s', { error: err.message }));
    });
  }

  function adoptIds(fc) {
    // Features drawn here get their stable id from the server's first save; later saves update them in place.
    var server = {};
    fc.features.forEach(function (f) { (server[f.properties.kind] = server[f.properties.kind] || []).push(f); });
    var zoneIds = {};
    (server.zone || []).forEach(function (f) { zoneIds[f.properties.name] = f.id; });
    ['outline', 'wall', 'opening', 'zone'].forEach(function (kind) {
      var mine = state.items.filter(function (i) { return i.feature.properties.kind === kind; });
      mine.forEach(function (item, n) {
        var f = item.feature;
        if (f.id !== undefined && f.id !== null) { return; }
        // The server keeps the order of walls, openings and the outline; zone names are unique on a floor.
        var id = kind === 'zone' ? zoneIds[f.properties.name] : (server[kind] || [])[n] && server[kind][n].id;
        if (id !== undefined) { f.id = id; }
      });
    });
    // Undo steps taken before this save name the same features: give them the ids too, so undoing
    // updates those features instead of re-creating them.
    var byShape = {};
    fc.features.forEach(function (f) { byShape[f.properties.kind + JSON.stringify(f.geometry)] = f.id; });
    state.undo = state.undo.map(function (text) {
      var old = JSON.parse(text);
      old.features.forEach(function (f) {
        if (f.properties.kind === 'terminal' || (f.id !== undefined && f.id !== null)) { return; }
        var id = f.properties.kind === 'zone' ? zoneIds[f.properties.name] : byShape[f.properties.kind + JSON.stringify(f.geometry)];
        if (id !== undefined) { f.id = id; }
      });
      return JSON.stringify(old);
    });
  }

  function terminalsOf(text) {
    if (!text) { return ''; }
    return JSON.stringify(JSON.parse(text).features.filter(function (f) { return f.properties.kind === 'terminal'; }));
  }

  function refreshTable() {
    // The terminal table below the map is an htmx partial: ask for it again after terminals changed here.
    if (window.htmx && document.getElementById('terminal-table')) {
      window.htmx.ajax('GET', window.location.pathname + window.location.search, { target: '#terminal-table', swap: 'outerHTML' });
    }
  }

  function reloadFromServer() {
    fetch(urls.state, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); })
      .then(function (data) {
        if (state.dirty) { return; } // never drop an unsaved edit
        state.selected = null;
        state.ranges = data.ranges || {};
        load(data.floor);
        state.current = state.lastSaved = JSON.stringify(collection());
        state.undo = [];
        renderPanel();
        loadOverlays();
      });
  }

  // A terminal changed or deleted in the table (htmx POST on its row) moves or removes it on the map too.
  // htmx re-targets afterRequest to <body> when the row that asked has been swapped out.
  document.body.addEventListener('htmx:afterRequest', function (ev) {
    var d = ev.detail, path = (d.pathInfo && d.pathInfo.requestPath) || '';
    if (d.successful && d.requestConfig && d.requestConfig.verb === 'post' && /\/terminals\/\d+\/(row|delete)/.test(path)) {
      reloadFromServer();
    }
  });

  function failed(message) {
    setStatus('failed', t('Not saved'));
    showError(t('Not saved: %(message)s. Your edit is kept here; fix it or press Undo.', { message: message }));
  }

  function setStatus(kind, text) {
    el.status.className = 'fe-status ' + kind;
    el.status.textContent = text;
    root.dataset.saveState = kind;
  }
  function showError(text) { el.error.textContent = text; el.error.hidden = false; }
  function hideError() { el.error.hidden = true; el.error.textContent = ''; }

  // ------------------------------------------------------------------ coverage overlays from the server
  function overlayKind(p) {
    var k = String(p.layer || p.overlay || p.kind || '');
    if (/intru|private_overlap|privacy/.test(k)) { return 'intrusion'; }
    if (/inside/.test(k)) { return 'inside_private'; }
    if (/uncover/.test(k)) { return 'uncovered'; }
    if (/view/.test(k)) { return 'view'; }
    if (/heat|k_?cover|level/.test(k)) { return 'heat'; }
    return k;
  }
  var OVERLAY_STYLE = {
    view: { pane: 'fe-views', color: '#b26a00', weight: 1, fillColor: '#ffc107', fillOpacity: 0.3, interactive: false },
    intrusion: { pane: 'fe-intrusions', color: '#b71c1c', weight: 2, fillColor: '#e53935', fillOpacity: 0.7, interactive: false,
      className: 'fe-ov-intrusion' },
    uncovered: { pane: 'fe-views', color: '#c62828', weight: 1, dashArray: '4 3', fillColor: '#c62828', fillOpacity: 0.12, interactive: false,
      className: 'fe-ov-uncovered' }
  };
  // Intrusions are cross-hatched and uncovered areas dotted (floor.css fills them with these), so they differ from
  // the other layers by texture as well as by colour.
  function ensureOverlayPatterns() {
    var ns = 'http://www.w3.org/2000/svg';
    [['fe-intrusions', 'fe-intrusion-hatch'], ['fe-views', 'fe-uncovered-dots']].forEach(function (spec) {
      var svg = map.getPane(spec[0]).querySelector('svg');
      if (!svg || svg.querySelector('#' + spec[1])) { return; }
      var defs = document.createElementNS(ns, 'defs'), pat = document.createElementNS(ns, 'pattern');
      pat.setAttribute('id', spec[1]); pat.setAttribute('width', '8'); pat.setAttribute('height', '8');
      pat.setAttribute('patternUnits', 'userSpaceOnUse');
      var shapes = spec[1] === 'fe-intrusion-hatch'
        ? [['rect', { width: 8, height: 8, fill: 'rgba(229,57,53,0.55)' }], ['path', { d: 'M0,0 L8,8 M8,0 L0,8', stroke: '#7f0000', 'stroke-width': 1.5 }]]
        : [['rect', { width: 8, height: 8, fill: 'rgba(198,40,40,0.08)' }], ['circle', { cx: 4, cy: 4, r: 1.6, fill: '#c62828' }]];
      shapes.forEach(function (s) {
        var node = document.createElementNS(ns, s[0]);
        Object.keys(s[1]).forEach(function (k) { node.setAttribute(k, s[1][k]); });
        pat.appendChild(node);
      });
      defs.appendChild(pat); svg.insertBefore(defs, svg.firstChild);
    });
  }

  function loadOverlays() {
    fetch(urls.overlays, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (r) { return r.json().then(function (d) { return { ok: r.ok, data: d }; }); })
      .then(function (res) {
        state.overlayLayer.clearLayers();
        state.heatLayer.clearLayers();
        state.viewsByTerminal = {};
        state.coverage = {};
        root.dataset.intrusions = '0';
        root.dataset.views = '0';
        if (!res.ok) {
          showError(t('Coverage not computed: %(error)s', { error: (res.data.field ? res.data.field + ': ' : '') + res.data.error }));
          return;
        }
        var problems = res.data.problems || [];
        if (problems.length) {
          // Stored before the rules applied (an old import): listed, and left out of the coverage below.
          showError(t('Not checked: %(problems)s.', { problems: problems.map(function (p) {
            return p.kind + ' ' + (p.terminal || p.zone) + ': ' + p.error; }).join('; ') }));
        }
        root.dataset.problems = String(problems.length);
        var views = 0, intrusions = 0;
        (res.data.features || []).forEach(function (f) {
          var p = f.properties || {}, kind = overlayKind(p), tid = p.terminal || p.terminal_id || p.id;
          if (tid && (kind === 'view' || kind === 'intrusion' || kind === 'inside_private')) {
            var c = state.coverage[tid] = state.coverage[tid] || { view_m2: null, forbidden: false, intrusions: [], inside: [] };
            if (kind === 'view') { c.view_m2 = p.view_m2 !== undefined ? p.view_m2 : p.area_m2; c.forbidden = c.forbidden || !!p.forbidden; }
            if (kind === 'intrusion') { c.intrusions.push({ zone: p.zone, area: p.area_m2 }); if (p.over_tolerance !== false) { c.forbidden = true; } }
            if (kind === 'inside_private') { c.inside = p.zones || []; c.forbidden = true; }
          }
          if (kind === 'inside_private') {
            L.circleMarker(ll(f.geometry.coordinates), { pane: 'fe-intrusions', radius: 14, color: '#c62828', weight: 3,
              fill: false, interactive: false }).addTo(state.overlayLayer);
            intrusions++;
            return;
          }
          if (kind === 'heat' && f.geometry) {
            // How many cameras see each area: light to dark blue, for the optional "k-coverage" layer.
            var n = Math.min(+p.count || 1, 4);
            L.geoJSON(f, { style: function () { return { pane: 'fe-views', stroke: false, fillColor: '#1f6feb',
              fillOpacity: 0.1 + 0.13 * n, interactive: false }; }, pmIgnore: true, coordsToLatLng: function (c) { return L.latLng(c[1], c[0]); } })
              .addTo(state.heatLayer);
            return;
          }
          var style = OVERLAY_STYLE[kind];
          if (!style || !f.geometry || f.geometry.type === 'Point') { return; }
          var layer = L.geoJSON(f, { style: function () { return style; }, pmIgnore: true, interactive: false,
            coordsToLatLng: function (c) { return L.latLng(c[1], c[0]); } });
          layer.eachLayer(function (l) { l.options.pmIgnore = true; });
          layer.addTo(state.overlayLayer);
          if (kind === 'view') {
            views++;
            if (tid) { (state.viewsByTerminal[tid] = state.viewsByTerminal[tid] || []).push(layer); }
          }
          if (kind === 'intrusion') { intrusions++; }
        });
        ensureOverlayPatterns();
        root.dataset.views = String(views);
        root.dataset.intrusions = String(intrusions);
        state.items.forEach(function (i) {
          if (i.marker) { i.stale = false; updateIcon(i); showWedge(i); }
        });
        var uncovered = (res.data.features || []).filter(function (f) { return overlayKind(f.properties || {}) === 'uncovered'; })
          .reduce(function (sum, f) { return sum + (+f.properties.area_m2 || 0); }, 0);
        el.summary.textContent = t('%(views)s views · %(intrusions)s private intrusions · uncovered %(area)s m²',
          { views: views, intrusions: intrusions, area: uncovered.toFixed(1) });
        el.summary.className = 'fe-summary' + (intrusions ? ' bad' : '');
        if (state.selected && state.selected.marker) { renderPanel(); }
      })
      .catch(function (err) { showError(t('Coverage not computed: %(error)s', { error: err.message })); });
  }

  // ------------------------------------------------------------------ selection panel
  function escapeHtml(s) {
    return String(s === undefined || s === null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function select(item) {
    var prev = state.selected;
    state.selected = item;
    if (prev && prev !== item) {
      if (prev.layer) { prev.layer.setStyle(styleFor(prev.feature)); }
      if (prev.marker) { updateIcon(prev); }
      if (prev.handle) { map.removeLayer(prev.handle); prev.handle = null; }
    }
    if (item && item.layer) { item.layer.setStyle({ color: '#1f6feb', weight: 4 }); }
    if (item && item.marker) { updateIcon(item); addHandle(item); }
    renderPanel();
    relabel();
  }

  function field(label, html) { return '<label class="field"><span>' + escapeHtml(t(label)) + '</span>' + html + '</label>'; }
  function input(name, value, attrs) {
    var kind = state.selected ? state.selected.feature.properties.kind : '';
    return '<input name="' + name + '" value="' + escapeHtml(value) + '" ' + (attrs || '') + (editable(kind) ? '' : ' disabled') + '>';
  }
  function options(values, current) {
    return values.map(function (v) {
      return '<option value="' + v + '"' + (String(v) === String(current) ? ' selected' : '') + '>' + escapeHtml(t(CHOICE + v, null, v.replace(/_/g, ' '))) + '</option>';
    }).join('');
  }

  function renderPanel() {
    var item = state.selected, html;
    if (!item) {
      el.panel.innerHTML = '<p class="muted">' + (state.canEdit
        ? t('Pick a tool above to draw walls, doors, zones or place a camera. Click an item to edit it. Drawing snaps to wall ends.')
        : state.canEditZones ? t('Draw or edit zones and their coverage requirements; walls and terminals are read-only for your role.')
          : t('Read-only view. Click an item to see its details.')) + '</p>' + legendHelp();
      return;
    }
    var p = item.feature.properties, dis = editable(p.kind) ? '' : ' disabled';
    if (p.kind === 'zone') {
      var uses = state.templates.uses.map(function (u) { return '<option value="' + u.use + '">' + escapeHtml(t(CHOICE + u.kind, null, u.kind)) + ', k ' + u.k + ', ' + escapeHtml(t(CHOICE + u.tier, null, u.tier)) + '</option>'; }).join('');
      var forced = state.templates.always_private.indexOf(p.use) >= 0;
      html = '<h3>' + escapeHtml(t('Zone')) + '</h3><form data-form="zone">' +
        field('Name', input('name', p.name, 'required maxlength="100"')) +
        field('Kind', '<select name="zone"' + dis + (forced ? ' data-forced="1"' : '') + '>' + options(['required', 'private', 'general'], p.zone) + '</select>') +
        (forced ? '<p class="note">' + escapeHtml(t('A %(use)s is always private (Decree 799).', { use: t('use:' + p.use, null, p.use.replace(/_/g, ' ')) })) + '</p>' : '') +
        field('Use', input('use', p.use || '', 'list="fe-uses" autocomplete="off"') + '<datalist id="fe-uses">' + uses + '</datalist>') +
        field('Cameras needed (k)', input('k', p.k || 1, 'type="number" min="1" max="10"')) +
        field('Detail tier', '<select name="tier"' + dis + '>' + options(['detect', 'observe', 'recognise', 'identify'], p.tier || 'observe') + '</select>') +
        buttons() + '</form>';
    } else if (p.kind === 'terminal') {
      html = '<h3>' + escapeHtml(t('Terminal %(code)s', { code: p.id })) + '</h3><form data-form="terminal">' +
        field('ID', input('id', p.id, 'required maxlength="50"')) +
        field('Type', '<select name="type"' + dis + '>' + options(['camera', 'face_terminal', 'access_reader', 'other'], p.type) + '</select>') +
        field('Heading (° ccw from +x)', input('heading_deg', p.heading_deg, 'type="number" step="any"')) +
        field('HFOV (°)', input('hfov_deg', p.hfov_deg, 'type="number" step="any" min="1" max="360"')) +
        field('Horizontal pixels', input('hpx', p.hpx === undefined ? '' : p.hpx, 'type="number" min="160"')) +
        field('Range (m, overrides pixels)', input('range_m', p.range_m === undefined ? '' : p.range_m, 'type="number" step="any"')) +
        field('Mount height (m)', input('height_m', p.height_m === undefined ? '' : p.height_m, 'type="number" step="any"')) +
        '<p class="muted">x ' + posText(item) + '</p>' + coverageText(p.id) + buttons() + '</form>';
    } else {
      var title = t(p.kind === 'wall' ? (item.feature.geometry.type === 'Polygon' ? 'Solid wall' : 'Wall') : p.kind === 'opening' ? 'Door / opening' : 'Floor outline');
      html = '<h3>' + title + '</h3><form data-form="' + p.kind + '">' +
        (p.kind === 'wall' ? '<label class="row"><input type="checkbox" name="see_through"' + (p.see_through ? ' checked' : '') + dis + '> ' + escapeHtml(t('see-through (glass)')) + '</label>' : '') +
        '<p class="muted">' + escapeHtml(t("Use Geoman's edit tool (left) to move vertices; drag with its drag tool.")) + '</p>' + buttons(p.kind === 'outline') + '</form>';
    }
    el.panel.innerHTML = html;
  }

  function coverageText(id) {
    var c = state.coverage[id];
    if (!c) { return ''; }
    var out = c.view_m2 !== null && c.view_m2 !== undefined ? '<p class="muted">' + escapeHtml(t('Sees %(area)s m² (wall-clipped)', { area: Number(c.view_m2).toFixed(1) })) + '</p>' : '';
    if (c.inside.length) { out += '<p class="note">' + escapeHtml(t('Mounted inside private zone %(zone)s.', { zone: c.inside.join(', ') })) + '</p>'; }
    c.intrusions.forEach(function (i) {
      out += '<p class="note">' + escapeHtml(t('Sees %(area)s m² of private zone %(zone)s.', { area: Number(i.area).toFixed(2), zone: i.zone })) + '</p>';
    });
    return out;
  }

  function posText(item) {
    var c = item.feature.geometry.coordinates;
    return '<span data-role="pos">' + c[0].toFixed(2) + ', y ' + c[1].toFixed(2) + ' m</span>';
  }

  function buttons(noDelete) {
    if (!state.selected || !editable(state.selected.feature.properties.kind)) { return ''; }
    return '<div class="row"><button type="submit" class="primary" data-action="apply">' + escapeHtml(t('Apply')) + '</button>' +
      (noDelete ? '' : '<button type="button" class="danger" data-action="delete">' + escapeHtml(t('Delete')) + '</button>') + '</div>';
  }
  function legendHelp() {
    return '<p class="muted">' + escapeHtml(t('Hatched red: private zones (toilets, changing rooms, guest rooms…). Yellow: what each camera really sees, clipped by walls. Solid red: a camera view reaching into a private zone.')) + '</p>';
  }

  function syncPanel(item) {
    if (state.selected !== item) { return; }
    var form = el.panel.querySelector('form[data-form=terminal]');
    if (!form) { return; }
    var h = form.elements.heading_deg;
    if (document.activeElement !== h) { h.value = item.feature.properties.heading_deg; }
    var pos = el.panel.querySelector('[data-role=pos]');
    var c = item.feature.geometry.coordinates;
    if (pos) { pos.textContent = c[0].toFixed(2) + ', y ' + c[1].toFixed(2) + ' m'; }
  }

  function num(v) { return v === '' || v === null || v === undefined ? undefined : Number(v); }

  function applyForm(form) {
    var item = state.selected;
    if (!item) { return; }
    var p = item.feature.properties, e = form.elements;
    if (p.kind === 'zone') {
      var use = e.use.value.trim();
      var kind = e.zone.value;
      if (state.templates.always_private.indexOf(use) >= 0) { kind = 'private'; }
      var name = e.name.value.trim();
      var clash = state.items.some(function (i) { return i !== item && i.feature.properties.kind === 'zone' && i.feature.properties.name === name; });
      if (!name || clash) { showError(clash ? t('Another zone is already named "%(name)s".', { name: name }) : t('A zone needs a name.')); return; }
      p.name = name; p.zone = kind; p.k = Math.max(1, parseInt(e.k.value, 10) || 1); p.tier = e.tier.value;
      if (use) { p.use = use; } else { delete p.use; }
      item.layer.setStyle(styleFor(item.feature));
      if (item.layer._path) { item.layer._path.setAttribute('class', 'leaflet-interactive ' + styleFor(item.feature).className); }
      ensureHatch();
    } else if (p.kind === 'terminal') {
      var id = e.id.value.trim();
      var dup = state.items.some(function (i) { return i !== item && i.feature.properties.id === id; });
      if (!id || dup) { showError(dup ? t('Another terminal already has ID "%(code)s".', { code: id }) : t('A terminal needs an ID.')); return; }
      if (id !== p.id && state.savedIds[p.id]) { deleteOnServer(p.id); }
      p.id = id; p.type = e.type.value;
      p.heading_deg = heading(num(e.heading_deg.value) || 0);
      p.hfov_deg = num(e.hfov_deg.value) || 90;
      ['hpx', 'range_m', 'height_m'].forEach(function (k) { var v = num(e[k].value); if (v === undefined) { delete p[k]; } else { p[k] = v; } });
      if (p.hpx === undefined && p.range_m === undefined) { p.range_m = 10; }
      p.face_recognition = p.type === 'face_terminal' ? true : !!p.face_recognition;
      item.marker.setIcon(camIcon(p, true));
      refreshTerminal(item);  // turns the new icon too
      addHandle(item);
    } else if (p.kind === 'wall') {
      if (e.see_through.checked) { p.see_through = true; } else { delete p.see_through; }
      item.layer.setStyle(styleFor(item.feature));
    }
    hideError();
    changed();
    renderPanel();
  }

  function deleteOnServer(code) {
    fetch(urls.terminal.replace('__CODE__', encodeURIComponent(code)), {
      method: 'DELETE', credentials: 'same-origin', headers: { 'X-CSRFToken': csrf, Accept: 'application/json' }
    }).then(function (r) {
      if (r.ok || r.status === 404) { delete state.savedIds[code]; } else { showError(t('Terminal %(code)s was not deleted (HTTP %(status)s).', { code: code, status: r.status })); }
    });
  }

  el.panel.addEventListener('submit', function (ev) { ev.preventDefault(); applyForm(ev.target); });
  el.panel.addEventListener('click', function (ev) {
    var action = ev.target.dataset && ev.target.dataset.action;
    if (action !== 'delete' || !state.selected) { return; }
    var item = state.selected, p = item.feature.properties;
    if (p.kind === 'terminal' && state.savedIds[p.id]) {
      if (!window.confirm(t('Delete terminal %(code)s from the inventory? (Mark it removed in the table instead if it was taken down.)', { code: p.id }))) { return; }
      deleteOnServer(p.id);
    }
    removeItem(item);
    changed();
  });
  el.panel.addEventListener('input', function (ev) {
    var item = state.selected;
    if (!item || !item.marker) { return; }
    var name = ev.target.name, p = item.feature.properties;
    if (name === 'heading_deg' || name === 'hfov_deg') {
      var v = num(ev.target.value);
      if (v === undefined || isNaN(v)) { return; }
      p[name] = name === 'heading_deg' ? heading(v) : v;
      item.stale = true;
      refreshTerminal(item);
    }
  });
  el.panel.addEventListener('change', function (ev) {
    if (ev.target.name !== 'use') { return; }
    var t = state.templates.uses.filter(function (u) { return u.use === ev.target.value; })[0];
    var form = ev.target.form;
    if (t) { form.elements.zone.value = t.kind; form.elements.k.value = t.k; form.elements.tier.value = t.tier; }
  });

  // ------------------------------------------------------------------ tools
  function nextId(prefix, key) {
    var taken = {};
    state.items.forEach(function (i) { taken[i.feature.properties[key]] = true; });
    for (var n = 1; ; n++) { if (!taken[prefix + n]) { return prefix + n; } }
  }

  function setTool(tool) {
    state.tool = tool;
    if (map.pm.globalDrawModeEnabled()) { map.pm.disableDraw(); }
    el.toolbar.querySelectorAll('[data-tool]').forEach(function (b) { b.classList.toggle('active', b.dataset.tool === tool); });
    root.querySelector('.fe-map').style.cursor = tool === 'camera' ? 'crosshair' : '';
    var opts = { snappable: true, snapDistance: 15, finishOn: null };
    if (tool === 'wall' || tool === 'opening') { map.pm.enableDraw('Line', opts); }
    if (tool === 'block' || tool === 'zone' || tool === 'outline') { map.pm.enableDraw('Polygon', opts); }
  }

  function placeCamera(latlng) {
    var f = { type: 'Feature', geometry: { type: 'Point', coordinates: [round(latlng.lng), round(latlng.lat)] },
      properties: { kind: 'terminal', id: nextId('C-', 'id'), type: 'camera', heading_deg: 0, hfov_deg: 90, hpx: 1920,
        height_m: 2.8, face_recognition: false, audio: false } };
    var item = addTerminal(f);
    select(item);
    changed();
  }

  map.on('pm:create', function (e) {
    var tool = state.tool, g = geometryOf(e.layer);
    map.removeLayer(e.layer);
    var props;
    if (tool === 'wall') { props = { kind: 'wall' }; }
    else if (tool === 'opening') { props = { kind: 'opening' }; }
    else if (tool === 'block') { props = { kind: 'wall' }; }
    else if (tool === 'outline') {
      state.items.filter(function (i) { return i.feature.properties.kind === 'outline'; }).forEach(removeItem);
      props = { kind: 'outline' };
    } else if (tool === 'zone') { props = { kind: 'zone', zone: 'general', name: nextId(t('Zone') + ' ', 'name'), k: 1, tier: 'observe' }; }
    else { return; }
    var item = addItem({ type: 'Feature', geometry: g, properties: props });
    item.edited = true;
    changed();
    if (tool === 'zone') { setTool('select'); select(item); }
    else { setTool(tool); } // keep drawing walls/doors until Esc or Select
  });

  map.on('pm:remove', function (e) {
    var item = state.items.filter(function (i) { return i.layer === e.layer; })[0];
    if (item) { state.items = state.items.filter(function (i) { return i !== item; }); if (state.selected === item) { state.selected = null; renderPanel(); } changed(); }
  });

  map.on('click', function (e) {
    if (state.tool === 'camera' && state.canEdit) { placeCamera(e.latlng); setTool('select'); return; }
    if (state.tool === 'select') { select(null); }
  });
  var layerNames = {};
  layerNames[t('Views, intrusions, uncovered')] = state.overlayLayer;
  layerNames[t('k-coverage (cameras per area)')] = state.heatLayer;
  L.control.layers(null, layerNames,
    { position: 'topright', collapsed: true }).addTo(map);

  map.on('mousemove', function (e) { el.coords.textContent = 'x ' + e.latlng.lng.toFixed(2) + ' m, y ' + e.latlng.lat.toFixed(2) + ' m'; });
  map.on('zoomend', function () { state.items.forEach(function (i) { if (i.handle) { placeHandle(i); } }); });

  // Drag the camera button onto the map to place a camera where it is dropped.
  var mapEl = root.querySelector('.fe-map');
  mapEl.addEventListener('dragover', function (ev) { ev.preventDefault(); });
  mapEl.addEventListener('drop', function (ev) {
    if (!state.canEdit || !ev.dataTransfer || ev.dataTransfer.getData('text/plain') !== 'sightline-camera') { return; }
    ev.preventDefault();
    placeCamera(map.mouseEventToLatLng(ev));
  });

  el.toolbar.addEventListener('click', function (ev) {
    var b = ev.target.closest('button');
    if (!b) { return; }
    if (b.dataset.tool) { setTool(b.dataset.tool); }
    if (b.dataset.action === 'undo') { undo(); }
  });
  el.toolbar.addEventListener('dragstart', function (ev) {
    if (ev.target.dataset && ev.target.dataset.tool === 'camera') { ev.dataTransfer.setData('text/plain', 'sightline-camera'); }
  });
  document.addEventListener('keydown', function (ev) {
    if (ev.target.closest && ev.target.closest('input, select, textarea')) { return; }
    if ((ev.ctrlKey || ev.metaKey) && ev.key === 'z') { ev.preventDefault(); undo(); }
    if (ev.key === 'Escape') { setTool('select'); }
  });
  window.addEventListener('beforeunload', function (ev) {
    if (state.dirty) { ev.preventDefault(); ev.returnValue = ''; }
  });

  // ------------------------------------------------------------------ start
  function fit() {
    var b = null;
    var outline = state.items.filter(function (i) { return i.feature.properties.kind === 'outline'; })[0];
    // The outline bounds the floor: a terminal stored outside it (an old import) must not shrink the plan to a speck.
    (outline ? [outline] : state.items).forEach(function (i) {
      var bb = i.layer ? i.layer.getBounds() : L.latLngBounds([i.marker.getLatLng()]);
      b = b ? b.extend(bb) : L.latLngBounds(bb.getSouthWest(), bb.getNorthEast());
    });
    if (state.background && state.background.corners) {
      state.background.corners.forEach(function (c) { b = b ? b.extend(ll(c)) : L.latLngBounds([ll(c)]); });
    }
    if (!b && state.background && state.background.meta && state.background.meta.width_px) {
      b = L.latLngBounds([[0, 0], [state.background.meta.height_px / 20, state.background.meta.width_px / 20]]);
    }
    map.fitBounds(b || L.latLngBounds([[0, 0], [20, 30]]), { padding: [20, 20] });
  }

  function selectFromUrl() {
    // ?select=<terminal ID or zone id> (links from the compliance findings): select it and centre the map on it.
    var want = new URLSearchParams(window.location.search).get('select');
    if (!want) { return; }
    var item = state.items.filter(function (i) {
      var p = i.feature.properties;
      return (p.kind === 'terminal' && p.id === want) || (p.kind === 'zone' && String(i.feature.id) === want);
    })[0];
    if (!item) { return; }
    select(item);
    map.setView(item.marker ? item.marker.getLatLng() : item.layer.getBounds().getCenter(), Math.max(map.getZoom(), 3));
    root.dataset.selected = want;
  }

  fetch(urls.state, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.json(); })
    .then(function (data) {
      state.canEdit = !!data.can_edit;
      state.canEditZones = !!data.can_edit_zones;
      state.templates = data.templates || state.templates;
      state.ranges = data.ranges || {};
      state.background = data.background;
      state.name = data.floor.name;
      state.savedIds = {};
      data.floor.features.forEach(function (f) { if (f.properties.kind === 'terminal') { state.savedIds[f.properties.id] = true; } });
      if (state.canEdit || state.canEditZones) {
        el.toolbar.hidden = false;
        if (!state.canEdit) {
          el.toolbar.querySelectorAll('[data-tool]').forEach(function (b) {
            b.hidden = ['select', 'zone'].indexOf(b.dataset.tool) < 0;
          });
        }
        map.pm.addControls({ position: 'topleft', drawMarker: false, drawCircleMarker: false, drawPolyline: false,
          drawRectangle: false, drawPolygon: false, drawCircle: false, drawText: false, cutPolygon: false, rotateMode: false });
        map.pm.setGlobalOptions({ snappable: true, snapDistance: 15 });
        // Geoman's buttons are empty links titled on their container: give them a name for screen readers.
        document.querySelectorAll('#floor-map .leaflet-pm-toolbar .button-container').forEach(function (c) {
          var a = c.querySelector('a.leaflet-buttons-control-button');
          if (a && c.title) { a.setAttribute('aria-label', c.title); }
        });
      } else {
        el.toolbar.hidden = false;
        el.toolbar.querySelectorAll('button').forEach(function (b) { b.hidden = true; });
      }
      if (data.background && data.background.url) {
        var m = data.background.meta || {};
        if (data.background.corners) {
          new AffineImage(data.background.url, data.background.corners, m.width_px, m.height_px).addTo(map);
        } else {
          // Not calibrated yet: show the plan at 20 px per metre so tracing can start; set the scale first.
          var h = m.height_px / 20, w = m.width_px / 20;
          state.background.corners = null;
          new AffineImage(data.background.url, [[0, h], [w, h], [w, 0], [0, 0]], m.width_px, m.height_px).addTo(map);
          showError(t('The plan has no scale yet: use "Set scale" before tracing, or distances will be wrong.'));
        }
      }
      load(data.floor);
      state.current = state.lastSaved = JSON.stringify(collection());
      fit();
      renderPanel();
      setStatus('saved', t('All changes saved'));
      selectFromUrl();
      root.dataset.ready = '1';
      if (data.floor.features.some(function (f) { return f.properties.kind === 'outline'; })) { loadOverlays(); }
    })
    .catch(function (err) { setStatus('failed', t('Could not load')); showError(t('The floor could not be loaded: %(error)s', { error: err.message })); });
}());
