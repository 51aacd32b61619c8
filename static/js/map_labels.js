/* Label placement on the floor map: after every zoom, pan, resize and edit, the labels (terminal IDs, finding and
 * zone names) are laid out greedily by priority - the selected terminal, findings, terminal IDs, then zone names -
 * each taking the first of its candidate positions that lies inside the map and clear of the map's controls and
 * of the labels already placed; a terminal's ID tries eight positions around its icon (flipping left or below at
 * the map's edges). A label with no free position is hidden until the view changes. Reads the DOM in one pass,
 * then writes classes, so a run costs one layout. window.sightlineMapLabels.watch(map) wires a map up; .run(map)
 * lays out now.
 */
(function () {
  'use strict';

  // Terminal label positions: CSS classes of app.css (.fe-cam .lbl.lbl-<pos>), in order of preference, with the
  // label's offset from the icon's box (width w, height h of the label; the icon is ICON px square).
  var ICON = 24, GAP = 2;
  var SPOTS = [
    ['ne', function (w, h) { return [ICON - 10 + GAP, -h / 2]; }],
    ['e', function (w, h) { return [ICON + GAP, (ICON - h) / 2]; }],
    ['w', function (w, h) { return [-w - GAP, (ICON - h) / 2]; }],
    ['nw', function (w, h) { return [10 - w - GAP, -h / 2]; }],
    ['se', function (w, h) { return [ICON - 10 + GAP, ICON - h / 2]; }],
    ['sw', function (w, h) { return [10 - w - GAP, ICON - h / 2]; }],
    ['n', function (w, h) { return [(ICON - w) / 2, -h - GAP]; }],
    ['s', function (w, h) { return [(ICON - w) / 2, ICON + GAP]; }]
  ];
  var SPOT_CLASSES = SPOTS.map(function (s) { return 'lbl-' + s[0]; });
  var HIDDEN = 'map-label-hidden';

  function overlaps(a, b) { return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom; }
  function inside(r, box) { return r.left >= box.left && r.top >= box.top && r.right <= box.right && r.bottom <= box.bottom; }
  function rect(left, top, w, h) { return { left: left, top: top, right: left + w, bottom: top + h }; }

  function run(map) {
    var container = map.getContainer();
    var box = container.getBoundingClientRect();
    var items = [];
    // Read: every label's size and anchor, with the hiding and position classes taken off.
    container.querySelectorAll('.fe-cam .lbl').forEach(function (el) {
      el.classList.remove(HIDDEN);
      var icon = el.parentNode.getBoundingClientRect();
      var r = el.getBoundingClientRect();
      var selected = el.parentNode.classList.contains('selected');
      items.push({ el: el, priority: selected ? 0 : 2, icon: icon, w: r.width, h: r.height });
    });
    container.querySelectorAll('.leaflet-tooltip.fe-finding-label, .leaflet-tooltip.fe-zone-label').forEach(function (el) {
      el.classList.remove(HIDDEN);
      var r = el.getBoundingClientRect();
      var zone = el.classList.contains('fe-zone-label');
      // Larger zones first: their names have the most room and name the most floor.
      items.push({ el: el, priority: zone ? 3 : 1, rect: r, size: zone ? -r.width * r.height : 0 });
    });
    var icons = items.filter(function (i) { return i.icon; }).map(function (i) { return i.icon; });
    items.forEach(function (item, n) { item.order = n; });
    items.sort(function (a, b) { return a.priority - b.priority || (a.size || 0) - (b.size || 0) || a.order - b.order; });
    // Decide: greedy, each label's candidates in order; a terminal prefers a spot over no other icon.
    // The map's own controls (zoom, drawing tools, layers) cover the map: labels keep out from under them too.
    var placed = [].map.call(container.querySelectorAll('.leaflet-control'), function (c) { return c.getBoundingClientRect(); });
    var shown = 0;
    items.forEach(function (item) {
      var choice = null;
      if (item.icon) {
        var spots = SPOTS.map(function (s) {
          var o = s[1](item.w, item.h);
          return { cls: 'lbl-' + s[0], r: rect(item.icon.left + o[0], item.icon.top + o[1], item.w, item.h) };
        }).filter(function (s) {
          return inside(s.r, box) && !placed.some(function (p) { return overlaps(s.r, p); });
        });
        var clear = spots.filter(function (s) {
          return !icons.some(function (i) { return i !== item.icon && overlaps(s.r, i); });
        });
        choice = clear[0] || spots[0] || null;
      } else if (item.rect.width > 0 && inside(item.rect, box) &&
                 !placed.some(function (p) { return overlaps(item.rect, p); })) {
        choice = { r: item.rect };
      }
      item.choice = choice;
      if (choice) { placed.push(choice.r); shown++; }
    });
    // Write.
    items.forEach(function (item) {
      if (item.icon) {
        SPOT_CLASSES.forEach(function (c) { item.el.classList.remove(c); });
        item.el.classList.add(item.choice ? item.choice.cls : 'lbl-ne');
      }
      if (!item.choice) { item.el.classList.add(HIDDEN); }
    });
    container.dataset.labelsShown = String(shown);
    container.dataset.labelsHidden = String(items.length - shown);
    container.dataset.labelsRuns = String((+container.dataset.labelsRuns || 0) + 1);
  }

  function watch(map) {
    var pending = false;
    function later() {
      if (pending) { return; }
      pending = true;
      window.requestAnimationFrame(function () { pending = false; run(map); });
    }
    map.on('zoomend moveend resize layeradd layerremove', later);
    return later;
  }

  window.sightlineMapLabels = { run: run, watch: watch };
}());
