/* The term / view / token-birth protocol of ringwatch, small enough for SPIN to check every
 * interleaving: 3 nodes, 2 monitors, at most MAXCLAIMS claims in all (so terms up to MAXCLAIMS),
 * each term's leader making up to MAXSEQ views, one node crash (losing the token it holds).
 *
 * Mirrors ring/core/node_impl.h (on_claim, obeys, adopt_view, issue_token) and
 * monitor/core/leadership.cpp + membership.cpp (a claim to every node, a majority of promises, a
 * view, its token ordered once every member took the view and ordered again while unacknowledged,
 * a new view when a snapshot finds no token after the last one was born). A node's promise, view
 * epoch and the epoch it made a token in survive its crash (the state directory); the token it
 * held does not.
 * Abstracted away: the links (exact FIFO channels; the link protocol is left to the simulator),
 * the snapshot (an exact count of the tokens, the `alive` ghost; the simulator checks the real
 * cut), leases, views of fewer members than the ring, messages. A monitor may claim at any moment
 * (a standby that stopped hearing the leader, or a paused leader that resumed), not only when the
 * leader is silent: more than the real ones do.
 *
 * Safety (assertions): one token born per epoch; never two usable tokens (two of the newest epoch
 * any node took); no node obeys an order of a term below one it promised.
 * Liveness (`ltl circulates`, weak fairness): whatever the claims and the crash, a token exists
 * again and again.
 * Planted bugs, each caught by tests/model/check_model.sh:
 *   -DBUG_OBEY_OLD       a node obeys any term's order, not only its promised leader's;
 *   -DBUG_FORGET_ISSUED  a restarted node forgets the epoch it made a token in; the order sent
 *                        again makes a second token of that epoch;
 *   -DBUG_NO_REVIEW      a leader never makes a new view when its snapshot finds no token: after
 *                        the crash no token circulates again (an acceptance cycle).
 * Not caught, and why: a node promising one term to two monitors. Two leaders of one term then
 * both order the same epoch, but a view is taken only above the epoch a node holds and every view
 * here needs every node, so one of the two never gets all its acknowledgements. */

#define N 3
#define M 2
#define MAJ 2
#ifndef MAXCLAIMS
#define MAXCLAIMS 3
#endif
#define MAXSEQ 2
#define EPOCHS ((MAXCLAIMS + 1) * 4)   /* epoch = term * 4 + seq, terms up to MAXCLAIMS: a term's epochs are its own (term.h) */
#define ALL 7              /* every node's bit */

mtype = { CLAIM, PROMISE, VIEW, ACK, ISSUE, ISSUED };

/* to a node: kind, monitor, term, epoch; to a monitor: kind, node, term, epoch, ok, promised term */
chan to_node[N] = [8] of { mtype, byte, byte, byte };
chan to_mon[M] = [12] of { mtype, byte, byte, byte, bit, byte };

byte promised[N], promised_to[N], epoch[N], issued[N], tok[N];   /* tok: the epoch of the token held, 0: none */
bit born[EPOCHS];          /* ghost: a token of that epoch was made */
byte highest[N];           /* ghost: the highest term a node ever promised */
byte alive;                /* ghost: tokens in existence (held; a pass is one step) */
byte newest;               /* ghost: the newest epoch any node took */
byte crashes, claims;

byte term[M], seq[M], view[M], votes[M], acks[M];
bit leading[M], known_born[M], reordered[M];

/* A node obeys an order of a later term (a leader it did not hear claim: a majority promised it)
 * or of the term it promised to that monitor; nothing else. */
inline obeys(i, m, t, ok) {
#ifdef BUG_OBEY_OLD
    ok = 1;
    if :: t > promised[i] -> promised[i] = t; promised_to[i] = m :: else -> skip fi;
#else
    if
    :: t > promised[i] -> promised[i] = t; promised_to[i] = m; ok = 1
    :: t == promised[i] && promised_to[i] == m -> ok = 1
    :: else -> ok = 0
    fi;
#endif
    if :: promised[i] > highest[i] -> highest[i] = promised[i] :: else -> skip fi;
    assert(!ok || t >= highest[i])                 /* no order of an old term obeyed */
}

/* A newer epoch purges every older token this node holds. */
inline adopt(i, e) {
    if
    :: e > epoch[i] ->
        epoch[i] = e;
        if :: e > newest -> newest = e :: else -> skip fi;
        if :: tok[i] != 0 && tok[i] < e -> tok[i] = 0; alive-- :: else -> skip fi
    :: else -> skip
    fi
}

inline to_all(kind, k, t, e) {
    to_node[0]!kind(k, t, e); to_node[1]!kind(k, t, e); to_node[2]!kind(k, t, e)
}

inline count3(bits, c) {
    c = (bits & 1) + ((bits >> 1) & 1) + ((bits >> 2) & 1)
}

proctype Node(byte i) {
    byte m, t, e; bit ok;
end:
    do
    :: d_step { to_node[i]?CLAIM(m, t, e) ->
        if :: t > promised[i] -> promised[i] = t; promised_to[i] = m; ok = 1 :: else -> ok = 0 fi;   /* a term once */
        if :: promised[i] > highest[i] -> highest[i] = promised[i] :: else -> skip fi;
        to_mon[m]!PROMISE(i, t, 0, ok, promised[i]);
        m = 0; t = 0; e = 0; ok = 0 }
    :: d_step { to_node[i]?VIEW(m, t, e) ->
        obeys(i, m, t, ok);
        if :: ok && e > epoch[i] -> adopt(i, e) :: else -> ok = 0 fi;
        to_mon[m]!ACK(i, t, e, ok, promised[i]);
        m = 0; t = 0; e = 0; ok = 0 }
    :: d_step { to_node[i]?ISSUE(m, t, e) ->
        obeys(i, m, t, ok);
        if
        :: ok && e == epoch[i] && issued[i] != e ->
            issued[i] = e;
            assert(!born[e]);                      /* one token per epoch */
            born[e] = 1; tok[i] = e; alive++
        :: ok && e == epoch[i] -> skip             /* made already: ordered again */
        :: else -> ok = 0
        fi;
        to_mon[m]!ISSUED(i, t, e, ok, promised[i]);
        m = 0; t = 0; e = 0; ok = 0 }
    :: d_step { tok[i] != 0 && tok[(i + 1) % N] == 0 ->   /* passed and taken in one step: the link is exact */
        e = tok[i]; tok[i] = 0;
        if
        :: e < epoch[(i + 1) % N] -> alive--                /* an older epoch's: dropped where it arrives */
        :: else -> adopt((i + 1) % N, e); tok[(i + 1) % N] = e
        fi;
        e = 0 }
    :: d_step { crashes < 1 ->                     /* killed (and restarted), losing the token it held */
        crashes++;
        if :: tok[i] != 0 -> tok[i] = 0; alive-- :: else -> skip fi;
#ifdef BUG_FORGET_ISSUED
        issued[i] = 0;                             /* the state directory forgot which epoch it made a token in */
#endif
        }
    od
}

/* A leader's next view: every node is told the term's next epoch. */
inline next_view(k) {
    seq[k]++; view[k] = term[k] * 4 + seq[k]; acks[k] = 0; known_born[k] = 0; reordered[k] = 0;
    to_all(VIEW, k, term[k], view[k])
}

proctype Monitor(byte k) {
    byte n, t, e, p, c; bit ok;
end:
    do
    :: d_step { !leading[k] && claims < MAXCLAIMS ->     /* a claim of the next term, to every node */
        claims++; term[k]++; votes[k] = 0; to_all(CLAIM, k, term[k], 0) }
    :: d_step { to_mon[k]?PROMISE(n, t, e, ok, p) ->
        if
        :: ok && t == term[k] && !leading[k] ->
            votes[k] = votes[k] | (1 << n); count3(votes[k], c);
            if :: c >= MAJ -> leading[k] = 1; seq[k] = 0; next_view(k) :: else -> skip fi
        :: !ok && p > term[k] -> term[k] = p; leading[k] = 0   /* a later term is promised: deposed */
        :: else -> skip
        fi;
        n = 0; t = 0; e = 0; p = 0; c = 0; ok = 0 }
    :: d_step { to_mon[k]?ACK(n, t, e, ok, p) ->
        if
        :: p > term[k] -> term[k] = p; leading[k] = 0
        :: ok && leading[k] && t == term[k] && e == view[k] ->
            acks[k] = acks[k] | (1 << n);
            if :: acks[k] == ALL -> to_node[view[k] % N]!ISSUE(k, term[k], view[k]) :: else -> skip fi
        :: else -> skip
        fi;
        n = 0; t = 0; e = 0; p = 0; ok = 0 }
    :: d_step { to_mon[k]?ISSUED(n, t, e, ok, p) ->
        if
        :: p > term[k] -> term[k] = p; leading[k] = 0
        :: ok && leading[k] && e == view[k] -> known_born[k] = 1
        :: else -> skip
        fi;
        n = 0; t = 0; e = 0; p = 0; ok = 0 }
    :: d_step { leading[k] && acks[k] == ALL && !known_born[k] && !reordered[k] ->
        reordered[k] = 1;                          /* no acknowledgement yet (it may be on its way): ordered again */
        to_node[view[k] % N]!ISSUE(k, term[k], view[k]) }
#ifndef BUG_NO_REVIEW
    :: d_step { leading[k] && known_born[k] && alive == 0 && seq[k] < MAXSEQ ->
        next_view(k) }                             /* the snapshot finds no token (one was born): a new epoch */
#endif
    od
}

/* Never two usable tokens: at most one of the newest epoch any node took. */
#define usable(i) (tok[i] == newest && newest != 0)
active proctype never_two() {
end:
    atomic { usable(0) + usable(1) + usable(2) > 1 -> assert(usable(0) + usable(1) + usable(2) <= 1) }
}

init {
    atomic {
        run Node(0); run Node(1); run Node(2);
        run Monitor(0); run Monitor(1)
    }
}

ltl circulates { [] <> (alive > 0) }
