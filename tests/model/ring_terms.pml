/* DRAFT, not yet run by CI (issue 26 is open). As it stands, with `spin -a` and
 * `cc -DSAFETY -DCOLLAPSE`: with these queue sizes (2 and 3) it explores 17.7 M states in 83 s and
 * stops at an invalid end state, a deadlock of the bounded queues (both monitors and a node blocked
 * on full ones), not a protocol error; with queues of 6 and 8 no deadlock is reached, but 63 M states
 * in 4 minutes do not finish it. Next: a smaller scope for CI (monitors that claim only when the
 * one before them is down, as the real ones; the token's rounds bounded), then the liveness run
 * and the planted bug's counterexample.
 *
 * The term / view / token-birth protocol of ringwatch, small enough for SPIN to check every
 * interleaving: 3 nodes, 2 monitors, terms up to 2, a node crash (losing what it held).
 * Mirrors ring/core/node_impl.h (on_claim, obeys, adopt_view, issue_token) and
 * monitor/core/leadership.cpp + membership.cpp (claims, majority, a view, then its token order).
 * The snapshot is abstracted as an exact count of the tokens (the simulator checks the real one).
 *
 * Safety (assertions): one token born per epoch; no node obeys an order of a term below the one
 * it promised. Liveness (ltl `circulates`, with weak fairness): a token exists again and again,
 * whatever the claims and the crash.
 * Planted bug (-DBUG_PROMISE_TWICE): a node promises a term again to another monitor; two monitors
 * then lead one term, make the same epoch, and two tokens are born in it. */

#define N 3
#define M 2
#define MAJ 2
#define MAXTERM 2
#define EPOCHS 16          /* epoch = term * 4 + seq (term.h: a term's epochs are its own) */
#define MAXSEQ 3

mtype = { CLAIM, PROMISE, VIEW, ACK, ISSUE };

chan to_node[N] = [2] of { mtype, byte, byte, byte };   /* kind, monitor, term, epoch */
chan to_mon[M] = [3] of { mtype, byte, byte, byte, bit }; /* kind, node, term, epoch, ok */

byte promised[N], promised_to[N], epoch[N], tok[N];      /* tok: the epoch of the token held, 0: none */
bool issued_in[EPOCHS];
byte births[EPOCHS];
byte alive;                                              /* ghost: tokens in existence (held or on the ring) */
byte crashes;

byte term[M];
bool leading[M];

inline obeys(i, m, t, ok) {
    if
    :: t > promised[i] -> promised[i] = t; promised_to[i] = m; ok = 1
    :: t == promised[i] && promised_to[i] == m -> ok = 1
    :: else -> ok = 0
    fi;
    assert(!ok || t >= promised[i])
}

inline adopt(i, e) {
    if
    :: e > epoch[i] ->
        epoch[i] = e;
        if
        :: tok[i] != 0 && tok[i] < e -> tok[i] = 0; alive--   /* purged */
        :: else -> skip
        fi
    :: else -> skip
    fi
}

proctype Node(byte i) {
    byte m, t, e, te; bit ok;
end:
    do
    :: to_node[i]?CLAIM(m, t, e) ->
        atomic {
#ifdef BUG_PROMISE_TWICE
            if :: t >= promised[i] -> promised[i] = t; promised_to[i] = m; ok = 1 :: else -> ok = 0 fi;
#else
            if :: t > promised[i] -> promised[i] = t; promised_to[i] = m; ok = 1 :: else -> ok = 0 fi;
#endif
            to_mon[m]!PROMISE(i, t, promised[i], ok)
        }
    :: to_node[i]?VIEW(m, t, e) ->
        atomic {
            obeys(i, m, t, ok);
            if :: ok -> adopt(i, e); ok = (e == epoch[i]) :: else -> skip fi;
            to_mon[m]!ACK(i, t, e, ok)
        }
    :: to_node[i]?ISSUE(m, t, e) ->
        atomic {
            obeys(i, m, t, ok);
            if
            :: ok && e == epoch[i] && !issued_in[e] ->
                issued_in[e] = 1;
                assert(births[e] == 0);             /* one token per epoch */
                births[e]++;
                tok[i] = e; alive++
            :: else -> skip
            fi
        }
    :: tok[i] != 0 && tok[(i + 1) % N] == 0 ->
        atomic {                                     /* passed on and taken in one step (the link is FIFO and exact) */
            te = tok[i]; tok[i] = 0;
            if
            :: te < epoch[(i + 1) % N] -> alive--    /* an older epoch's: discarded where it arrives */
            :: else -> adopt((i + 1) % N, te); tok[(i + 1) % N] = te
            fi
        }
    :: crashes < 1 && tok[i] != 0 ->
        atomic { crashes++; tok[i] = 0; alive-- }    /* killed holding it; restarted at once (its promise on disk) */
    od
}

proctype Monitor(byte k) {
    byte n, t, e, p, seq, view; byte votes, acks; bit ok;
end:
    do
    :: !leading[k] && term[k] < MAXTERM ->           /* a claim of the next term, to every node */
        atomic {
            term[k]++; votes = 0;
            n = 0; do :: n < N -> to_node[n]!CLAIM(k, term[k], 0); n++ :: else -> break od
        }
    :: to_mon[k]?PROMISE(n, t, p, ok) ->
        atomic {
            if
            :: ok && t == term[k] && !leading[k] ->
                votes = votes | (1 << n);
                if
                :: (votes & 1) + ((votes >> 1) & 1) + ((votes >> 2) & 1) >= MAJ ->
                    leading[k] = 1; seq = 1; view = term[k] * 4 + seq; acks = 0;
                    n = 0; do :: n < N -> to_node[n]!VIEW(k, term[k], view); n++ :: else -> break od
                :: else -> skip
                fi
            :: !ok && p > term[k] -> term[k] = p; leading[k] = 0   /* a later term: deposed, or the claim lost */
            :: else -> skip
            fi
        }
    :: to_mon[k]?ACK(n, t, e, ok) ->
        atomic {
            if
            :: ok && leading[k] && t == term[k] && e == view ->
                acks = acks | (1 << n);
                if
                :: acks == 7 -> to_node[view % N]!ISSUE(k, term[k], view)   /* every member took it: its token */
                :: else -> skip
                fi
            :: !ok && leading[k] && t == term[k] -> leading[k] = 0           /* refused: a later term leads */
            :: else -> skip
            fi
        }
    :: leading[k] && acks == 7 && alive == 0 && seq < MAXSEQ ->
        atomic {                                     /* the snapshot finds no token: a new view, a new epoch */
            seq++; view = term[k] * 4 + seq; acks = 0;
            n = 0; do :: n < N -> to_node[n]!VIEW(k, term[k], view); n++ :: else -> break od
        }
    od
}

init {
    atomic {
        run Node(0); run Node(1); run Node(2);
        run Monitor(0); run Monitor(1)
    }
}

ltl circulates { [] <> (alive > 0) }
