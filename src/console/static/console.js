// Follows the activity page's log over server-sent events. Every page works without it.
(function () {
  var log = document.getElementById("log");
  if (!log || !window.EventSource) return;
  var source = new EventSource("/activity/log" + window.location.search);
  source.addEventListener("log", function (e) {
    log.appendChild(document.createTextNode(e.data + "\n"));
    while (log.childNodes.length > 600) log.removeChild(log.firstChild);
    log.scrollTop = log.scrollHeight;
  });
})();
