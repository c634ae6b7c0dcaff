// How much data the volume tests move. CI runs the whole suite five times
// (Node 20, Node 20 with ZEROCOPY_DISABLE=1, Node 22, 24, 26); what a
// gigabyte proves — offsets past 32 bits, ≥ 99% of a long transfer by the
// kernel — does not depend on the Node version, so CI moves it once, on
// Node 20's fast-path run, and sets ZEROCOPY_TEST_VOLUME=light for the other
// four, where the 2 GiB sparse file is sent as a range across the 2 GiB mark
// (offsets still cross 2^31) and the proxy and upload tests move 64–128 MiB.
// By hand, `npm test` moves everything.
export const lightVolume = process.env.ZEROCOPY_TEST_VOLUME === 'light';
