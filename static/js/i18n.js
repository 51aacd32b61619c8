// The page's translations for scripts: a JSON map of English text -> text in the page's language, written by the
// server into <script type="application/json" id="ui-strings">. sightlineT('Saved %(time)s', {time: t}) fills
// %(name)s placeholders; a text missing from the map is shown as it is (or as the fallback given).
(function () {
  'use strict';
  var node = document.getElementById('ui-strings');
  var strings = {};
  try { strings = JSON.parse((node && node.textContent) || '{}'); } catch (e) { strings = {}; }
  window.sightlineT = function (text, vars, fallback) {
    var out = Object.prototype.hasOwnProperty.call(strings, text) ? strings[text] : (fallback === undefined ? text : fallback);
    return vars ? out.replace(/%\((\w+)\)s/g, function (m, key) { return vars[key] === undefined ? m : String(vars[key]); }) : out;
  };
}());
