// 管理后台: progressive enhancement only; every form works without this script.
for (const button of document.querySelectorAll('button[data-copy]')) {
  button.addEventListener('click', async () => {
    const text = document.getElementById(button.dataset.copy)?.textContent ?? '';
    try {
      await navigator.clipboard.writeText(text.trim());
      button.textContent = '已复制';
    } catch {
      // Without clipboard access the secret stays on the page to be selected by hand.
      window.getSelection()?.selectAllChildren(document.getElementById(button.dataset.copy));
    }
  });
}
