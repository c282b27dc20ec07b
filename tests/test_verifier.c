/*
 * The verifier's chain rules (include/tiersync/verify.h), the ones the
 * downlink applies before storing and tierctl verify / the simulator
 * apply to a whole store.  Whole-store verification against tampered
 * stores is tests/test_verify.py's.
 */
#include <string.h>

#include "tiersync/verify.h"
#include "tap.h"

static void
test_place(void)
{
	uint8_t zero[TS_HASH_LEN] = { 0 }, h[TS_HASH_LEN], other[TS_HASH_LEN];

	memset(h, 0xab, sizeof(h));
	memset(other, 0xcd, sizeof(other));
	CHECK_EQ_INT(ts_chain_place(0, zero, 1, zero), TS_CHAIN_NEXT,
	    "seq 1 with a zero prev starts a chain");
	CHECK_EQ_INT(ts_chain_place(0, h, 1, zero), TS_CHAIN_NEXT,
	    "nothing held: the held hash is not looked at");
	CHECK_EQ_INT(ts_chain_place(0, zero, 1, h), TS_CHAIN_PREV,
	    "seq 1 with a non-zero prev is refused");
	CHECK_EQ_INT(ts_chain_place(0, zero, 2, zero), TS_CHAIN_GAP,
	    "seq 2 first: a gap");
	CHECK_EQ_INT(ts_chain_place(5, h, 6, h), TS_CHAIN_NEXT, "6 after 5 links");
	CHECK_EQ_INT(ts_chain_place(5, h, 6, other), TS_CHAIN_PREV,
	    "6 after 5 with another prev: broken chain");
	CHECK_EQ_INT(ts_chain_place(5, h, 5, h), TS_CHAIN_OLD, "5 again: old");
	CHECK_EQ_INT(ts_chain_place(5, h, 1, zero), TS_CHAIN_OLD, "1 after 5: old");
	CHECK_EQ_INT(ts_chain_place(5, h, 8, h), TS_CHAIN_GAP, "8 after 5: gap");
	CHECK_EQ_INT(ts_chain_place(UINT64_MAX - 1, h, UINT64_MAX, h), TS_CHAIN_NEXT,
	    "the last seq still links");
}

static void
test_walk(void)
{
	ts_chain_walk k;
	ts_report r;
	uint8_t h1[TS_HASH_LEN], h2[TS_HASH_LEN];
	char why[160];

	memset(&k, 0, sizeof(k));
	memset(&r, 0, sizeof(r));
	memset(h1, 1, sizeof(h1));
	memset(h2, 2, sizeof(h2));
	r.seq = 1;
	CHECK(ts_chain_walk_step(&k, 1, &r, h1, why, sizeof(why)) == NULL,
	    "seq 1, zero prev");
	r.seq = 2;
	memcpy(r.prev, h1, TS_HASH_LEN);
	CHECK(ts_chain_walk_step(&k, 2, &r, h2, why, sizeof(why)) == NULL,
	    "seq 2 links to 1");
	r.seq = 4;
	memcpy(r.prev, h2, TS_HASH_LEN);
	CHECK(strcmp(ts_chain_walk_step(&k, 4, &r, h1, why, sizeof(why)), "gap") == 0 &&
	    strstr(why, "seq 4 follows 2") != NULL, "a gap names both seqs: %s", why);
	r.seq = 5;
	memcpy(r.prev, h2, TS_HASH_LEN);
	CHECK(strcmp(ts_chain_walk_step(&k, 5, &r, h2, why, sizeof(why)), "prev") == 0,
	    "prev not the hash of 4: %s", why);
	r.seq = 7;
	CHECK(strcmp(ts_chain_walk_step(&k, 6, &r, h2, why, sizeof(why)), "key") == 0 &&
	    strstr(why, "body says 7") != NULL, "stored under another seq: %s", why);
	memset(&k, 0, sizeof(k));
	r.seq = 3;
	CHECK(strcmp(ts_chain_walk_step(&k, 3, &r, h1, why, sizeof(why)), "gap") == 0 &&
	    strstr(why, "starts at seq 3") != NULL, "a chain starting at 3: %s", why);
	memset(&k, 0, sizeof(k));
	r.seq = 1;
	CHECK(strcmp(ts_chain_walk_step(&k, 1, &r, h1, why, sizeof(why)), "prev") == 0,
	    "seq 1 with a non-zero prev: %s", why);
}

int
main(void)
{
	test_place();
	test_walk();
	CHECK_EQ_INT(ts_verify_sig(NULL, "01", NULL, 0), -1, "no keys: -1");
	return ts_test_done();
}
