// The demo shop's own code: a tiny catalog, a cart in localStorage, and the page wiring. Every call to
// `mindbox(...)` here is what a shop's frontend developer writes; see mindbox.d.ts for the API.
window.mindbox = window.mindbox || function () { mindbox.queue.push(arguments); };
mindbox.queue = mindbox.queue || [];
mindbox("create", { endpointId: "demo-shop" });

const CATALOG = {
  categories: [
    { id: "42", name: "Кроссовки" },
    { id: "43", name: "Куртки" },
  ],
  products: [
    { id: "123", name: "Кроссовки «Быстрые»", category: "42", price: 4990 },
    { id: "124", name: "Кроссовки «Лёгкие»", category: "42", price: 3990 },
    { id: "200", name: "Куртка «Тёплая»", category: "43", price: 9990 },
  ],
};

const shop = {
  product: (id) => CATALOG.products.find((p) => p.id === id),
  // Prices and points as Russian readers write them: "4 990 ₽", "1 250".
  price: (rub) => `${Number(rub).toLocaleString("ru-RU")} ₽`,
  points: (n) => (n == null ? "—" : Number(n).toLocaleString("ru-RU")),
  escape: (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`),
  param: (name) => new URLSearchParams(location.search).get(name),
  status(text) {
    const el = document.getElementById("status");
    if (el) el.textContent = text;
  },
  // Callbacks that show what happened to the last event on the page.
  report: (what) => ({
    onSuccess: () => shop.status(`${what}: sent`),
    onError: (e) => shop.status(`${what}: error: ${e}`),
  }),
  list(key) {
    try {
      return JSON.parse(localStorage.getItem(key) || "[]");
    } catch {
      return [];
    }
  },
  save(key, lines) {
    localStorage.setItem(key, JSON.stringify(lines));
  },
  // The cart is sent as a full snapshot after every change (the collector keeps snapshots in order).
  addToCart(id) {
    const lines = shop.list("cart");
    const line = lines.find((l) => l.productId === id);
    if (line) line.count += 1;
    else lines.push({ productId: id, count: 1, price: shop.product(id).price });
    shop.save("cart", lines);
    mindbox("setCart", lines, shop.report("setCart"));
  },
  removeFromCart(id) {
    const lines = shop.list("cart").filter((l) => l.productId !== id);
    shop.save("cart", lines);
    mindbox("setCart", lines, shop.report("setCart"));
  },
  clearCart() {
    shop.save("cart", []);
    mindbox("clearCart", undefined, shop.report("clearCart"));
  },
  toggleWishlist(id) {
    let lines = shop.list("wishlist");
    lines = lines.some((l) => l.productId === id)
      ? lines.filter((l) => l.productId !== id)
      : [...lines, { productId: id, price: shop.product(id).price }];
    shop.save("wishlist", lines);
    mindbox("setWishlist", lines, shop.report("setWishlist"));
  },
  // The shop's backend signs the authentication ticket with the Mindbox secret key (here: the demo
  // server's /api/login); the browser never sees the key.
  async login(userId, email) {
    const res = await fetch("/api/login", { method: "POST", body: JSON.stringify({ userId, email }) });
    const session = await res.json();
    // A registration ticket (for an email) does not replace the signed-in session.
    if (!email) sessionStorage.setItem("session", JSON.stringify(session));
    return session;
  },
  session() {
    try {
      return JSON.parse(sessionStorage.getItem("session"));
    } catch {
      return null;
    }
  },
  nav() {
    const cart = shop.list("cart").reduce((n, l) => n + l.count, 0);
    const s = shop.session();
    document.body.insertAdjacentHTML(
      "afterbegin",
      `<nav><a href="/">Каталог</a> · <a href="/cart.html">Корзина (${cart})</a> ·
       <a href="/wishlist.html">Избранное</a> · <a href="/login.html">${s ? "Вы: " + s.userId : "Войти"}</a> ·
       <a href="/profile.html">Профиль</a> · <a href="/snippet.html">Snippet</a> · <a href="/qa.html">QA</a></nav>`,
    );
  },
};
window.shop = shop;
document.addEventListener("DOMContentLoaded", () => shop.nav());
