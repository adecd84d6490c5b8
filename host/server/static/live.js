// Live run updates: the run page works without this script (it reloads
// itself every two seconds); with it, the server pushes the run's
// changing part over Server-Sent Events and it is swapped in place.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !live.dataset.events || !window.EventSource) {
    return;
  }
  var events = new EventSource(live.dataset.events);
  events.addEventListener("run", function (event) {
    // Rendered and escaped by the server's own template.
    live.innerHTML = event.data;
  });
  events.addEventListener("finished", function () {
    events.close();
  });
})();
