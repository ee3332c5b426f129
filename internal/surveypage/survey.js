// The survey page: the token is the URL's fragment, which the browser never
// sends, so it reaches only the API, never a server or CDN log.
"use strict";
(function () {
  var token = location.hash.slice(1);
  var status = document.getElementById("status");
  var form = document.getElementById("survey");
  var api = "surveys/" + encodeURIComponent(token);
  var say = function (text) { status.textContent = text; };
  if (!token) { say("This link is not valid."); return; }
  fetch(api, { cache: "no-store" }).then(function (r) {
    if (!r.ok) { throw r.status; }
    return r.json();
  }).then(function (v) {
    document.documentElement.lang = v.language;
    document.getElementById("q-score").textContent = v.questions.score;
    document.getElementById("q-comment").textContent = v.questions.comment;
    if (v.answered) { say("✓"); return; }
    say("");
    form.hidden = false;
  }).catch(function (s) { say(s === 429 ? "Too many requests; try again later." : "This link is not valid."); });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var score = Number(new FormData(form).get("score"));
    var comment = document.getElementById("comment").value;
    var body = comment ? { score: score, comment: comment } : { score: score };
    fetch(api, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) {
        form.hidden = r.ok || r.status === 409;
        say(r.ok || r.status === 409 ? "✓" : "Please check your answer.");
      });
  });
})();
