// A refused form's error summary (templates/_errors.html, GOV.UK style): each message links to the field it is
// about, that field is marked aria-invalid and described by its message, and the first summary on the page takes
// the focus, so that a keyboard or screen reader user hears what to fix before anything else. A message is keyed by
// the field's input name or by its API path (`tasks.0.due_on` is the input `due-1`, `data.location` is `location`).
(function () {
  "use strict";
  var ROW_INPUTS = { text: "resolution", description: "task", assignee_id: "assignee", due_on: "due" };

  function names(key) {
    var path = key.replace(/^data\./, "");
    var found = [key, path, path.replace(/_at$/, "")];
    var row = /^(\w+)\.(\d+)\.(\w+)$/.exec(path);
    if (row) {
      var stem = ROW_INPUTS[row[3]] || row[3];
      found.push(stem + "-" + (Number(row[2]) + 1));
    }
    var alone = /^(\w+)\.(\d+)$/.exec(path);
    if (alone) { found.push(alone[1] + "-" + (Number(alone[2]) + 1), alone[1]); }
    return found;
  }

  function fieldOf(box, key) {
    var scope = box.parentElement || document;
    var candidates = names(key);
    for (var index = 0; index < candidates.length; index++) {
      var name = candidates[index];
      var byId = document.getElementById(name);
      if (byId && /^(INPUT|SELECT|TEXTAREA)$/.test(byId.tagName)) { return byId; }
      var byName = scope.querySelector('[name="' + name.replace(/"/g, '\\"') + '"]:not([type="hidden"])');
      if (byName) { return byName; }
    }
    return null;
  }

  var boxes = document.querySelectorAll(".error[role=alert][data-summary]");
  Array.prototype.forEach.call(boxes, function (box) {
    Array.prototype.forEach.call(box.querySelectorAll("a[data-field]"), function (link) {
      var field = fieldOf(box, link.getAttribute("data-field"));
      var message = link.parentElement;
      if (!field) {
        message.textContent = link.textContent;  // nothing to go to: the message alone, no dead link
        return;
      }
      if (!field.id) { field.id = "field-" + field.name.replace(/[^\w-]/g, "_"); }
      link.setAttribute("href", "#" + field.id);
      link.addEventListener("click", function (event) {
        event.preventDefault();
        field.scrollIntoView({ block: "center" });
        field.focus();
      });
      field.setAttribute("aria-invalid", "true");
      var described = (field.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
      if (described.indexOf(message.id) < 0) { described.unshift(message.id); }
      field.setAttribute("aria-describedby", described.join(" "));
    });
  });
  if (boxes.length && !document.getElementById("kept-form-notice")) { boxes[0].focus(); }
})();
