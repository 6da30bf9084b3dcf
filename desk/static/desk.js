// The console's only script (CSP: script-src 'self'); every page works without it.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-print]");
  if (button) window.print();
});
// A card opened by the scan form has its own address: Back (from a visit) and reload show the
// card again instead of asking to send the form twice.
const card = document.querySelector("[data-card-url]");
if (card && window.location.pathname !== card.dataset.cardUrl) {
  window.history.replaceState(null, "", card.dataset.cardUrl);
}
