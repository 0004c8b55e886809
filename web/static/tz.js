// Pre-selects the browser's time zone where the reader has not chosen one; without
// JavaScript the form still works (UTC until changed).
(function () {
  var zone;
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
  if (!zone) return;
  document.querySelectorAll("[data-browser-zone]").forEach(function (field) {
    if (field.value && field.value !== "UTC") return;
    if (field.tagName === "SELECT") {
      for (var i = 0; i < field.options.length; i++) {
        if (field.options[i].value === zone) { field.value = zone; return; }
      }
    } else {
      field.value = zone;
    }
  });
})();
