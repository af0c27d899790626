// SHA-256 (FIPS 180-4) that takes its input piece by piece.
//
// WebCrypto's crypto.subtle.digest takes the whole input at once: hashing a
// file with it means reading all of the file before its first byte can be
// sent, and holding it in memory. This one hashes each chunk as the page
// reads it to send it, so the upload starts at once and the page holds one
// chunk at a time. upload.browser.mjs checks it against crypto.subtle.

// The first 32 bits of the fractional parts of the cube roots of the first
// 64 primes (FIPS 180-4 §4.2.2).
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

// The first 32 bits of the fractional parts of the square roots of the
// first 8 primes (§5.3.3).
const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

const rotr = (x, n) => (x >>> n) | (x << (32 - n));

export class SHA256 {
  #h = new Uint32Array(INITIAL);
  #w = new Uint32Array(64); // the message schedule, reused for every block
  #block = new Uint8Array(64); // a block's bytes, until it is complete
  #used = 0; // how many of #block's bytes are filled
  #length = 0; // bytes hashed so far: exact as a Number up to 2^53
  #done = false;

  // update adds bytes, a Uint8Array, to what is hashed, and returns this.
  update(bytes) {
    if (this.#done) throw new Error("SHA256: update after digest");
    this.#length += bytes.length;
    let i = 0;
    if (this.#used > 0) {
      i = Math.min(64 - this.#used, bytes.length);
      this.#block.set(bytes.subarray(0, i), this.#used);
      this.#used += i;
      if (this.#used < 64) return this;
      this.#compress(this.#block, 0);
      this.#used = 0;
    }
    // Whole blocks are hashed where they lie, without a copy.
    for (; bytes.length - i >= 64; i += 64) this.#compress(bytes, i);
    this.#block.set(bytes.subarray(i));
    this.#used = bytes.length - i;
    return this;
  }

  // digest ends the hash and returns it as 32 bytes.
  digest() {
    if (this.#done) throw new Error("SHA256: digest called twice");
    this.#done = true;
    // Padding (§5.1.1): a 1 bit, zeros, and the length in bits as a 64-bit
    // big-endian number, filling out the last block, or the last two.
    const block = this.#block;
    block[this.#used] = 0x80;
    block.fill(0, this.#used + 1);
    if (this.#used >= 56) {
      this.#compress(block, 0);
      block.fill(0);
    }
    const view = new DataView(block.buffer);
    view.setUint32(56, Math.floor(this.#length / 0x20000000)); // length * 8 / 2^32
    view.setUint32(60, (this.#length * 8) >>> 0);
    this.#compress(block, 0);

    const out = new Uint8Array(32);
    const outView = new DataView(out.buffer);
    this.#h.forEach((word, j) => outView.setUint32(4 * j, word));
    return out;
  }

  // hex ends the hash and returns it as 64 lowercase hex digits.
  hex() {
    return Array.from(this.digest(), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // #compress hashes the 64-byte block of bytes at offset into the state
  // (§6.2.2).
  #compress(bytes, offset) {
    const w = this.#w;
    for (let t = 0; t < 16; t++) {
      const o = offset + 4 * t;
      w[t] = (bytes[o] << 24) | (bytes[o + 1] << 16) | (bytes[o + 2] << 8) | bytes[o + 3];
    }
    for (let t = 16; t < 64; t++) {
      const w15 = w[t - 15];
      const w2 = w[t - 2];
      const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3);
      const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10);
      w[t] = w[t - 16] + s0 + w[t - 7] + s1; // the Uint32Array keeps it mod 2^32
    }
    const h = this.#h;
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (let t = 0; t < 64; t++) {
      const S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + K[t] + w[t]) | 0;
      const S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
  }
}
