// The notices page: the print button (no inline script, strict CSP).
const button = document.getElementById("print-notices");
if (button) button.addEventListener("click", () => window.print());
