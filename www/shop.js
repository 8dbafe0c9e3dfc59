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
    // Out of stock: its page offers "tell me when it is back" (subscribeToProduct) instead of the cart.
    { id: "201", name: "Куртка «Лёгкая»", category: "43", price: 7990, inStock: false },
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
  // Why a call failed: the collector's refusal `{error, reason}`, or a message.
  why: (e) => (e && (e.reason || e.error)) || e,
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
    shop.counters();
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
    // Refused (the demo's login is off against a real Mindbox): no session, and the page says why.
    if (!res.ok) throw new Error(session.reason || `HTTP ${res.status}`);
    // A registration ticket (for an email) does not replace the signed-in session. The session is in
    // localStorage, so every tab of the shop shares it (a real shop keeps it in a cookie).
    if (!email) localStorage.setItem("session", JSON.stringify(session));
    shop.counters();
    return session;
  },
  // A ticket for a phone the shopper confirmed (cards.html): the same backend signs it, and the
  // signed-in session stays as it is.
  async phoneTicket(phone) {
    const res = await fetch("/api/login", { method: "POST", body: JSON.stringify({ phone }) });
    const answer = await res.json();
    if (!res.ok) throw new Error(answer.reason || `HTTP ${res.status}`);
    return answer.ticket;
  },
  logout() {
    localStorage.removeItem("session");
    shop.counters();
  },
  session() {
    try {
      return JSON.parse(localStorage.getItem("session"));
    } catch {
      return null;
    }
  },
  nav() {
    document.body.insertAdjacentHTML(
      "afterbegin",
      `<nav><a href="/">Каталог</a> · <a href="/cart.html">Корзина (<span id="cart-count">0</span>)</a> ·
       <a href="/wishlist.html">Избранное (<span id="wish-count">0</span>)</a> · <span id="who"></span> ·
       <a href="/profile.html">Мои баллы</a> · <a href="/cards.html">Мои карты</a> · <a href="/snippet.html">Старый сниппет</a> ·
       <a href="/consent.html">152-ФЗ</a> · <a href="/qa.html">QA</a></nav>`,
    );
    shop.counters();
  },
  // The counters and the signed-in name, now and whenever another tab changes them.
  counters() {
    const set = (id, v) => document.getElementById(id) && (document.getElementById(id).textContent = v);
    set("cart-count", shop.list("cart").reduce((n, l) => n + l.count, 0));
    set("wish-count", shop.list("wishlist").length);
    const who = document.getElementById("who");
    if (!who) return;
    const s = shop.session();
    who.innerHTML = s
      ? `Вы: ${shop.escape(s.userId)} <button id="logout">Выйти</button>`
      : `<a href="/login.html">Войти</a>`;
    const out = document.getElementById("logout");
    if (out) out.onclick = () => {
      shop.logout();
      location.href = "/";
    };
  },
  // A product's picture: an inline SVG in the product's own colour.
  picture(p) {
    const hue = (Number(p.id) * 47) % 360;
    return `<svg viewBox="0 0 120 80" width="120" height="80" aria-hidden="true"><rect width="120" height="80" rx="8" fill="hsl(${hue} 60% 85%)"/>
      <path d="M20 60 Q45 20 70 45 T110 35 L110 70 L20 70 Z" fill="hsl(${hue} 50% 55%)"/></svg>`;
  },
  // A product's card: the picture, the name, the price (and whether it is out of stock).
  card(p) {
    return `<a class="card" href="/product.html?id=${p.id}">${shop.picture(p)}
      <span>${shop.escape(p.name)}</span><b>${shop.price(p.price)}</b>${p.inStock === false ? "<small>нет в наличии</small>" : ""}</a>`;
  },
};
window.shop = shop;
// No favicon request to fail: the shop has none.
document.head.insertAdjacentHTML("beforeend", '<link rel="icon" href="data:,">');
document.addEventListener("DOMContentLoaded", () => shop.nav());
addEventListener("storage", () => shop.counters());
