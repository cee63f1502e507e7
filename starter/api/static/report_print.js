/* The printable report's one button: the browser's print dialog (which can save a PDF). */
document.getElementById("print-button").addEventListener("click", () => window.print());
