// Refreshes <main> every 5 s from the same page; the page reads the same without it.
(() => {
  const main = document.querySelector("main");
  const offline = document.getElementById("offline");
  let last = main.innerHTML;
  const refresh = async () => {
    try {
      const response = await fetch(location.pathname, { cache: "no-store" });
      if (!response.ok) throw new Error(response.status);
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      offline.hidden = true;
      const updated = page.getElementById("updated");
      if (updated) document.getElementById("updated").replaceWith(updated);
      const next = page.querySelector("main");
      if (!next || next.innerHTML === last) return;
      // The reader's place: which parts are open, and how far down they read.
      const open = new Map();
      main.querySelectorAll("details[id]").forEach((d) => open.set(d.id, d.open));
      const [x, y] = [window.scrollX, window.scrollY];
      main.innerHTML = last = next.innerHTML;
      main.querySelectorAll("details[id]").forEach((d) => {
        if (open.has(d.id)) d.open = open.get(d.id);
      });
      window.scrollTo(x, y);
    } catch {
      offline.hidden = false;
    } finally {
      setTimeout(refresh, 5000);
    }
  };
  setTimeout(refresh, 5000);
})();
