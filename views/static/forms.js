// Progressive enhancement only: every form works without this script.
for (const img of document.querySelectorAll('img[data-refresh]')) {
  const refresh = (event) => {
    event?.preventDefault();
    img.src = `/captcha?t=${Date.now()}`;
  };
  img.addEventListener('click', refresh);
  for (const link of document.querySelectorAll('[data-refresh-link]')) link.addEventListener('click', refresh);
}
for (const button of document.querySelectorAll('button[data-countdown]')) {
  let left = Number(button.dataset.countdown);
  if (left > 0) {
    const label = button.textContent;
    button.disabled = true;
    const tick = () => {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.textContent = `${left}秒后重新发送`;
      left -= 1;
      setTimeout(tick, 1000);
    };
    tick();
  }
}
