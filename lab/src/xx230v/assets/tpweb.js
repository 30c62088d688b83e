// The xx230v-sim web UI's client: written for Fibreplane's lab from the protocol description
// (no TP-Link code). It offers the vendor's call shapes, `$.Iencryptor` and `$.dm`, so a driver
// written against the real UI works here. MD5 and AES-CBC come from the vendored crypto-js;
// AES-GCM from WebCrypto (127.0.0.0/8 is a secure context); RSA is BigInt arithmetic.
(function () {
  'use strict';
  var C = window.CryptoJS;
  var $ = (window.$ = window.$ || {});
  var gcm = window.simCipher === 'gcm';
  var te = new TextEncoder();
  var KEY = 'xx230v-sim-crypto';
  // Session crypto state; survives the navigation from the login page to the main page.
  var st = JSON.parse(sessionStorage.getItem(KEY) || '{}');
  function save() { sessionStorage.setItem(KEY, JSON.stringify(st)); }

  // 13-digit millisecond timestamp + random digits, cut to length: what the web UI does.
  function digits(n) {
    var s = String(Date.now());
    while (s.length < n + 9) s += Math.floor(Math.random() * 10);
    return s.slice(s.length - n);
  }
  function b64(bytes) {
    var s = '';
    for (var i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
    return btoa(s);
  }
  function unb64(text) {
    var s = atob(text), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  function modpow(b, e, m) {
    var r = 1n;
    b %= m;
    while (e > 0n) {
      if (e & 1n) r = (r * b) % m;
      e >>= 1n;
      b = (b * b) % m;
    }
    return r;
  }
  // Textbook RSA over NUL-padded chunks of the modulus size, hex blocks concatenated.
  function rsaHex(str) {
    var n = BigInt('0x' + st.nn), e = BigInt('0x' + st.ee), k = st.nn.length / 2;
    var bytes = te.encode(str), out = '';
    for (var i = 0; i < bytes.length; i += k) {
      var m = 0n;
      for (var j = 0; j < k; j++) m = (m << 8n) | BigInt(i + j < bytes.length ? bytes[i + j] : 0);
      out += modpow(m, e, n).toString(16).padStart(k * 2, '0');
    }
    return out;
  }
  function gcmKey() {
    return crypto.subtle.importKey('raw', te.encode(st.key), 'AES-GCM', false, ['encrypt', 'decrypt']);
  }

  $.Iencryptor = {
    setHash: function (user, pass) { st.hash = C.MD5(user + pass).toString(); save(); },
    genAESKey: function () { st.key = digits(16); st.iv = digits(gcm ? 12 : 16); save(); },
    // Resolves {data, tag}: base64 ciphertext (and base64 GCM tag).
    AESEncrypt: function (plain) {
      if (!gcm) {
        var ct = C.AES.encrypt(C.enc.Utf8.parse(plain), C.enc.Utf8.parse(st.key), {
          iv: C.enc.Utf8.parse(st.iv), mode: C.mode.CBC, padding: C.pad.Pkcs7
        });
        return Promise.resolve({ data: ct.ciphertext.toString(C.enc.Base64) });
      }
      return gcmKey().then(function (k) {
        return crypto.subtle.encrypt({ name: 'AES-GCM', iv: te.encode(st.iv) }, k, te.encode(plain));
      }).then(function (buf) {
        var all = new Uint8Array(buf);
        return { data: b64(all.slice(0, all.length - 16)), tag: b64(all.slice(all.length - 16)) };
      });
    },
    AESDecrypt: function (text) {
      if (!gcm) {
        var p = C.AES.decrypt({ ciphertext: C.enc.Base64.parse(text) }, C.enc.Utf8.parse(st.key), {
          iv: C.enc.Utf8.parse(st.iv), mode: C.mode.CBC, padding: C.pad.Pkcs7
        });
        return Promise.resolve(p.toString(C.enc.Utf8));
      }
      var ct = unb64(text.slice(0, -24)), tag = unb64(text.slice(-24));
      var all = new Uint8Array(ct.length + 16);
      all.set(ct);
      all.set(tag, ct.length);
      return gcmKey().then(function (k) {
        return crypto.subtle.decrypt({ name: 'AES-GCM', iv: te.encode(st.iv) }, k, all);
      }).then(function (buf) { return new TextDecoder().decode(buf); });
    },
    getSignature: function (s, isLogin) {
      var fields = 'h=' + st.hash + '&s=' + s;
      if (isLogin) {
        var k = gcm ? btoa(st.key) : st.key, iv = gcm ? btoa(st.iv) : st.iv;
        fields = 'key=' + k + '&iv=' + iv + '&' + fields;
      }
      return rsaHex(fields);
    }
  };

  function post(url, body, withToken) {
    var headers = { 'Content-Type': 'text/plain' };
    if (withToken && window.token) headers.TokenID = window.token;
    return fetch(url, { method: 'POST', body: body, headers: headers, credentials: 'same-origin' })
      .then(function (r) { return r.text().then(function (t) { return { status: r.status, text: t }; }); });
  }
  function encryptedCall(payload, isLogin, url) {
    return $.Iencryptor.AESEncrypt(payload).then(function (enc) {
      var sign = $.Iencryptor.getSignature(Number(st.seq) + enc.data.length, isLogin);
      var body = 'sign=' + sign + '\r\ndata=' + enc.data + '\r\n' + (enc.tag ? 'tag=' + enc.tag + '\r\n' : '');
      return post(url, body, !isLogin);
    }).then(function (r) {
      if (r.status !== 200) throw new Error('HTTP ' + r.status);
      return r.text ? $.Iencryptor.AESDecrypt(r.text) : '';
    });
  }
  function dmCall(op, args) {
    var data = Object.assign({ stack: args.stack || '0,0,0,0,0,0', pstack: '0,0,0,0,0,0' }, args.data || {});
    var cb = args.callback || {};
    var payload = JSON.stringify({ data: data, operation: op, oid: args.oid });
    encryptedCall(payload, false, '/cgi_gdpr?9?_=' + Date.now()).then(function (text) {
      if (op === 'cgi') {
        if (text.trim() === '') { if (cb.success) cb.success(); } else if (cb.fail) cb.fail(-1);
        return;
      }
      var j = JSON.parse(text);
      if (j.success === false) { if (cb.fail) cb.fail(j.errorcode); } else if (cb.success) cb.success(j.data);
    }).catch(function (e) { if (cb.error) cb.error(String(e)); });
  }
  $.dm = {
    get: function (a) { dmCall('go', a); },
    getList: function (a) { dmCall('gl', a); },
    add: function (a) { dmCall('add', a); },
    del: function (a) { dmCall('del', a); },
    op: function (a) { dmCall('op', a); },
    cgi: function (a) { dmCall('cgi', a); }
  };

  function utf8b64(s) { return b64(te.encode(s)); }
  function showError(ret, times, forbid) {
    var tips = document.querySelector('.content.error-tips-content');
    tips.dataset.ret = ret;
    tips.dataset.authTimes = times;
    tips.dataset.forbidTime = forbid;
    tips.textContent = forbid > 0
      ? 'Too many failed attempts. Try again in ' + forbid + ' seconds.'
      : ret === 71233 ? 'Incorrect password (' + times + '/5 attempts).' : 'Login failed (' + ret + ').';
    tips.style.display = 'block';
  }
  function login(force) {
    var userBox = document.querySelector('#pc-login-user');
    var user = (userBox && userBox.value) || 'user';
    var pass = document.querySelector('#pc-login-password').value;
    document.querySelector('.content.error-tips-content').style.display = 'none';
    document.querySelector('#confirm-box').style.display = 'none';
    return post('/cgi/getGDPRParm?_=' + Date.now(), '', false).then(function (r) {
      var v = function (name) { var m = new RegExp('var ' + name + '="([^"]*)";').exec(r.text); return m && m[1]; };
      st.ee = v('ee'); st.nn = v('nn'); st.seq = v('seq');
      if (!st.ee || !st.nn || !st.seq) throw new Error('bad key announcement');
      $.Iencryptor.genAESKey();
      $.Iencryptor.setHash(user, pass);
      save();
      var payload = JSON.stringify({
        data: { UserName: utf8b64(user), Passwd: utf8b64(pass), Action: force ? '2' : '1',
          stack: '0,0,0,0,0,0', pstack: '0,0,0,0,0,0' },
        operation: 'cgi', oid: '/cgi/login'
      });
      return encryptedCall(payload, true, '/cgi_gdpr?9');
    }).then(function (text) {
      var num = function (re) { var m = re.exec(text); return m ? Number(m[1]) : 0; };
      var ret = num(/\$\.ret=(\d+);/);
      if (ret === 0) { location.href = '/'; return; }
      if (ret === 71239) { document.querySelector('#confirm-box').style.display = 'block'; return; }
      showError(ret, num(/currAuthTimes=(\d+);/), num(/currForbidTime=(\d+);/));
    }).catch(function (e) { showError(-1, 0, 0); console.error(e); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var btn = document.querySelector('#pc-login-btn');
    if (btn) btn.addEventListener('click', function () { login(false); });
    var yes = document.querySelector('#confirm-yes');
    if (yes) yes.addEventListener('click', function () { login(true); });
    var no = document.querySelector('#confirm-no');
    if (no) no.addEventListener('click', function () { document.querySelector('#confirm-box').style.display = 'none'; });
    var out = document.querySelector('#topLogout');
    if (out) out.addEventListener('click', function () {
      $.dm.cgi({ oid: '/cgi/logout', data: {}, callback: { success: function () { location.href = '/'; } } });
    });
  });
})();
