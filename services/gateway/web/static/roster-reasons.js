// The secretary's roster form (templates/record.html): a line whose status takes no reason (an option marked
// data-no-reason: present, or absent without leave; DOMAIN.md gives reasons to excused absences only) has its reason
// box disabled, so nothing can be typed there and nothing is sent with it. What was typed stays in the box and comes
// back when an excused status is chosen again. Without JavaScript the server refuses such a reason
// (reason_for_present, reason_for_unexcused), naming the line.
(function () {
  "use strict";
  function follow(select) {
    var box = select.form.querySelector('input[name="reason-' + select.name.slice("status-".length) + '"]');
    if (!box) { return; }
    var option = select.options[select.selectedIndex];
    box.disabled = Boolean(option && option.hasAttribute("data-no-reason"));
  }
  var forms = document.querySelectorAll("[data-roster-reasons]");
  Array.prototype.forEach.call(forms, function (form) {
    Array.prototype.forEach.call(form.querySelectorAll('select[name^="status-"]'), function (select) {
      follow(select);
      select.addEventListener("change", function () { follow(select); });
    });
  });
})();
