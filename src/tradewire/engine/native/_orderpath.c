/* The native order path (issue 26): pre-trade risk, the journal's intent record and the
 * order's request bytes in one call, on flat state, before Python books the rest.
 *
 * Why C against the CPython API and not Cython: the path is three small loops over doubles
 * and bytes and one write(2); Cython would add a build dependency (the two README commands
 * would have to install it on a fresh machine) for code that is shorter written here, and
 * the measured cost of the Python path was in the objects it builds (OrderRequest, Record,
 * the intent dict, a bytes per concatenation), not in the interpreter dispatch Cython
 * removes (mypyc compiled the same modules: 1.00x paired, docs/performance.md).
 *
 * RiskCore.check is the account's risk rules (tradewire/engine/risk_rules.py is their
 * pure-Python twin, tested equal on every risk unit test and on random cases). It answers
 * a code: 0 approved, else 1 + the index of the rule's DenyReason. Python writes the
 * denial's message; the approve path allocates nothing.
 *
 * OrderPath.submit checks risk, writes the intent record (byte for byte what the Python
 * journal writes: msgpack of Record, <u32 len><u32 crc32> head) to the journal's file with
 * one write(2) from a preallocated buffer, and returns the HTTP request from a template the
 * venue's own builder made. It returns None, having changed nothing, for any order it does
 * not format exactly as the Python builder would (a fractional quantity, a sub-dollar or
 * off-tick price): the Python path then takes it.
 *
 * Built with -ffp-contract=off: a fused multiply-add would round differently from Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

/* DenyReason order (tradewire/engine/verdicts.py), code = index + 1 */
enum {
    APPROVED = 0,
    KILL_SWITCH = 1,
    HALTED = 2,
    REDUCING_ONLY = 3,
    THROTTLE = 4,
    MAX_OPEN_ORDERS = 5,
    MAX_QTY = 6,
    MAX_NOTIONAL = 7,
    PRICE_BAND = 8,
    NO_REFERENCE_PRICE = 9,
    MAX_POSITION = 10,
    GROSS_EXPOSURE = 11,
    DAILY_LOSS = 12,
    INVALID_NUMBER = 13,
};

/* TradingState as the core sees it */
enum { MODE_ACTIVE = 0, MODE_REDUCING = 1, MODE_HALTED = 2, MODE_KILLED = 3 };

typedef struct {
    double max_open_orders, max_order_qty, max_order_notional, price_band_pct;
    double max_position_qty, max_gross_exposure, max_daily_loss;
} Limits;

typedef struct {
    PyObject_HEAD
    Limits scope[2]; /* 0: stocks (and options), 1: crypto pairs */
    double rate, tokens;
    long long last_ns;
    int mode;
} RiskCore;

typedef struct {
    int crypto, buy, has_price, has_mid;
    double qty, price, mid, position, open_orders, gross, daily_pnl;
    long long now_ns;
    double working_buy, working_sell, working_notional, notional, multiplier;
} Ask;

/* The rules, in risk.py's order: cheapest first. */
static int
risk_rules(RiskCore *r, const Ask *a)
{
    const Limits *cfg = &r->scope[a->crypto ? 1 : 0];
    double qty = a->qty, notional = a->notional;
    if (r->mode == MODE_KILLED) return KILL_SWITCH;
    if (r->mode == MODE_HALTED) return HALTED;
    if (notional != 0.0) { /* NaN is true here, as in Python */
        if (!a->has_mid && notional == notional) return NO_REFERENCE_PRICE;
        qty = (a->has_mid && a->mid != 0.0) ? notional / a->mid : notional;
    }
    /* x - x is 0.0 for every finite x and NaN otherwise: one check covers the sum. */
    double total = a->position + a->gross + a->daily_pnl + a->working_notional + a->working_buy;
    total += a->working_sell;
    if (!(0.0 < qty && qty < INFINITY && (!a->has_price || (0.0 < a->price && a->price < INFINITY))
          && (!a->has_mid || (0.0 < a->mid && a->mid < INFINITY)) && total - total == 0.0))
        return INVALID_NUMBER;
    double after;
    int reduces;
    if (a->buy) {
        after = a->position + a->working_buy + qty; /* worst case: every working buy fills */
        reduces = a->position < 0 && after <= 0;
    } else {
        after = a->position - a->working_sell - qty;
        reduces = a->position > 0 && after >= 0;
    }
    if (r->mode == MODE_REDUCING && !reduces) return REDUCING_ONLY;
    if (r->last_ns) {
        double refilled = r->tokens + (double)(a->now_ns - r->last_ns) * r->rate / 1e9;
        r->tokens = refilled < r->rate ? refilled : r->rate; /* Python's min(rate, refilled) */
    }
    r->last_ns = a->now_ns;
    if (r->tokens < 1.0) return THROTTLE;
    if (a->open_orders >= cfg->max_open_orders) return MAX_OPEN_ORDERS;
    if (qty > cfg->max_order_qty) return MAX_QTY;
    if (!a->has_mid) return NO_REFERENCE_PRICE;
    if (notional == 0.0) {
        notional = qty * ((a->has_price && a->price > a->mid) ? a->price : a->mid);
        notional *= a->multiplier;
    }
    if (notional > cfg->max_order_notional) return MAX_NOTIONAL;
    if (a->has_price && fabs(a->price - a->mid) / a->mid * 100.0 > cfg->price_band_pct)
        return PRICE_BAND;
    if (!reduces && fabs(after) > cfg->max_position_qty) return MAX_POSITION;
    double exposure = a->gross + a->working_notional + notional;
    if (!reduces && exposure > cfg->max_gross_exposure) return GROSS_EXPOSURE;
    if (a->daily_pnl < -cfg->max_daily_loss && !reduces) return DAILY_LOSS;
    r->tokens -= 1.0;
    return APPROVED;
}

/* -- argument helpers --------------------------------------------------------------------- */

static int
as_double(PyObject *o, double *out)
{
    if (PyFloat_CheckExact(o)) {
        *out = PyFloat_AS_DOUBLE(o);
        return 0;
    }
    *out = PyFloat_AsDouble(o);
    return (*out == -1.0 && PyErr_Occurred()) ? -1 : 0;
}

static int
as_optional(PyObject *o, double *out, int *present)
{
    *present = o != Py_None;
    if (!*present) {
        *out = 0.0;
        return 0;
    }
    return as_double(o, out);
}

static PyObject *
RiskCore_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    /* RiskCore(stock_limits, crypto_limits, rate): each limits a 7-tuple of floats in
     * Limits' field order. */
    PyObject *lims[2];
    double rate;
    if (!PyArg_ParseTuple(args, "O!O!d", &PyTuple_Type, &lims[0], &PyTuple_Type, &lims[1], &rate))
        return NULL;
    RiskCore *self = (RiskCore *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    for (int s = 0; s < 2; s++) {
        double v[7];
        if (PyTuple_GET_SIZE(lims[s]) != 7) {
            PyErr_SetString(PyExc_ValueError, "limits are a 7-tuple");
            Py_DECREF(self);
            return NULL;
        }
        for (int i = 0; i < 7; i++) {
            if (as_double(PyTuple_GET_ITEM(lims[s], i), &v[i]) < 0) {
                Py_DECREF(self);
                return NULL;
            }
        }
        Limits *l = &self->scope[s];
        l->max_open_orders = v[0];
        l->max_order_qty = v[1];
        l->max_order_notional = v[2];
        l->price_band_pct = v[3];
        l->max_position_qty = v[4];
        l->max_gross_exposure = v[5];
        l->max_daily_loss = v[6];
    }
    self->rate = self->tokens = rate;
    self->last_ns = 0;
    self->mode = MODE_ACTIVE;
    return (PyObject *)self;
}

static int
fill_ask(PyObject *const *args, Ask *a)
{
    /* crypto, buy, qty, price, mid, position, open_orders, gross, daily_pnl, now_ns,
     * working_buy, working_sell, working_notional, notional, multiplier */
    a->crypto = PyObject_IsTrue(args[0]);
    a->buy = PyObject_IsTrue(args[1]);
    a->now_ns = PyLong_AsLongLong(args[9]);
    if (a->now_ns == -1 && PyErr_Occurred()) return -1;
    if (as_double(args[2], &a->qty) < 0 || as_optional(args[3], &a->price, &a->has_price) < 0
        || as_optional(args[4], &a->mid, &a->has_mid) < 0 || as_double(args[5], &a->position) < 0
        || as_double(args[6], &a->open_orders) < 0 || as_double(args[7], &a->gross) < 0
        || as_double(args[8], &a->daily_pnl) < 0 || as_double(args[10], &a->working_buy) < 0
        || as_double(args[11], &a->working_sell) < 0
        || as_double(args[12], &a->working_notional) < 0 || as_double(args[13], &a->notional) < 0
        || as_double(args[14], &a->multiplier) < 0)
        return -1;
    return 0;
}

static PyObject *
RiskCore_check(RiskCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 15) {
        PyErr_SetString(PyExc_TypeError, "check takes 15 positional arguments");
        return NULL;
    }
    Ask a;
    if (fill_ask(args, &a) < 0) return NULL;
    return PyLong_FromLong(risk_rules(self, &a));
}

static PyObject *
RiskCore_gate(RiskCore *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* gate(now_ns, open_orders): an order of any shape meets these first (risk.check_gate) */
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "gate takes 2 positional arguments");
        return NULL;
    }
    long long now_ns = PyLong_AsLongLong(args[0]);
    double open_orders;
    if ((now_ns == -1 && PyErr_Occurred()) || as_double(args[1], &open_orders) < 0) return NULL;
    int code = APPROVED;
    if (self->mode == MODE_KILLED) code = KILL_SWITCH;
    else if (self->mode == MODE_HALTED) code = HALTED;
    else if (self->mode == MODE_REDUCING) code = REDUCING_ONLY;
    else {
        if (self->last_ns) {
            double refilled = self->tokens + (double)(now_ns - self->last_ns) * self->rate / 1e9;
            self->tokens = refilled < self->rate ? refilled : self->rate;
        }
        self->last_ns = now_ns;
        if (self->tokens < 1.0) code = THROTTLE;
        else if (open_orders >= self->scope[0].max_open_orders) code = MAX_OPEN_ORDERS;
        else self->tokens -= 1.0;
    }
    return PyLong_FromLong(code);
}

static PyObject *
RiskCore_get_tokens(RiskCore *self, void *closure)
{
    return PyFloat_FromDouble(self->tokens);
}

static int
RiskCore_set_tokens(RiskCore *self, PyObject *value, void *closure)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "tokens cannot be deleted");
        return -1;
    }
    return as_double(value, &self->tokens);
}

static PyObject *
RiskCore_get_mode(RiskCore *self, void *closure)
{
    return PyLong_FromLong(self->mode);
}

static int
RiskCore_set_mode(RiskCore *self, PyObject *value, void *closure)
{
    long mode = value == NULL ? -1 : PyLong_AsLong(value);
    if (mode < MODE_ACTIVE || mode > MODE_KILLED) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "mode is 0..3");
        return -1;
    }
    self->mode = (int)mode;
    return 0;
}

static PyGetSetDef RiskCore_getset[] = {
    {"tokens", (getter)RiskCore_get_tokens, (setter)RiskCore_set_tokens, "throttle tokens", NULL},
    {"mode", (getter)RiskCore_get_mode, (setter)RiskCore_set_mode, "0 active .. 3 killed", NULL},
    {NULL},
};

static PyMethodDef RiskCore_methods[] = {
    {"check", (PyCFunction)(void (*)(void))RiskCore_check, METH_FASTCALL, "the rules' code"},
    {"gate", (PyCFunction)(void (*)(void))RiskCore_gate, METH_FASTCALL, "the gate's code"},
    {NULL},
};

static PyTypeObject RiskCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tradewire.engine.native._orderpath.RiskCore",
    .tp_basicsize = sizeof(RiskCore),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "The account's pre-trade risk rules on flat state.",
    .tp_new = RiskCore_new,
    .tp_methods = RiskCore_methods,
    .tp_getset = RiskCore_getset,
};

/* -- the journal record: msgpack as msgspec writes it, then the frame head ---------------- */

typedef struct {
    char *p;
    Py_ssize_t len, cap;
} Buf;

static int
buf_reserve(Buf *b, Py_ssize_t more)
{
    if (b->len + more <= b->cap) return 0;
    Py_ssize_t cap = b->cap ? b->cap : 512;
    while (cap < b->len + more) cap *= 2;
    char *p = PyMem_Realloc(b->p, cap);
    if (p == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

static inline void
put_be(char *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)(v & 0xff);
        v >>= 8;
    }
}

static int
mp_str(Buf *b, const char *s, Py_ssize_t n)
{
    if (buf_reserve(b, n + 5) < 0) return -1;
    char *p = b->p + b->len;
    if (n < 32) {
        *p++ = (char)(0xa0 | n);
    } else if (n < 256) {
        *p++ = (char)0xd9;
        *p++ = (char)n;
    } else if (n < 65536) {
        *p++ = (char)0xda;
        put_be(p, (uint64_t)n, 2);
        p += 2;
    } else {
        *p++ = (char)0xdb;
        put_be(p, (uint64_t)n, 4);
        p += 4;
    }
    memcpy(p, s, n);
    b->len = (p + n) - b->p;
    return 0;
}

static int
mp_pystr(Buf *b, PyObject *s)
{
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    return u == NULL ? -1 : mp_str(b, u, n);
}

static int
mp_int(Buf *b, long long v)
{
    if (buf_reserve(b, 9) < 0) return -1;
    char *p = b->p + b->len;
    int n;
    if (v >= 0) {
        uint64_t u = (uint64_t)v;
        if (u < 128) { p[0] = (char)u; n = 1; }
        else if (u < 256) { p[0] = (char)0xcc; p[1] = (char)u; n = 2; }
        else if (u < 65536) { p[0] = (char)0xcd; put_be(p + 1, u, 2); n = 3; }
        else if (u < 4294967296ULL) { p[0] = (char)0xce; put_be(p + 1, u, 4); n = 5; }
        else { p[0] = (char)0xcf; put_be(p + 1, u, 8); n = 9; }
    } else {
        if (v >= -32) { p[0] = (char)(v & 0xff); n = 1; }
        else if (v >= -128) { p[0] = (char)0xd0; p[1] = (char)(v & 0xff); n = 2; }
        else if (v >= -32768) { p[0] = (char)0xd1; put_be(p + 1, (uint64_t)v, 2); n = 3; }
        else if (v >= -2147483648LL) { p[0] = (char)0xd2; put_be(p + 1, (uint64_t)v, 4); n = 5; }
        else { p[0] = (char)0xd3; put_be(p + 1, (uint64_t)v, 8); n = 9; }
    }
    b->len += n;
    return 0;
}

static int
mp_float(Buf *b, double v)
{
    if (buf_reserve(b, 9) < 0) return -1;
    uint64_t bits;
    memcpy(&bits, &v, 8);
    b->p[b->len] = (char)0xcb;
    put_be(b->p + b->len + 1, bits, 8);
    b->len += 9;
    return 0;
}

static int
mp_byte(Buf *b, unsigned char c)
{
    if (buf_reserve(b, 1) < 0) return -1;
    b->p[b->len++] = (char)c;
    return 0;
}

/* A number as the Python journal holds it: an int stays an int, a float a float64. */
static int
mp_number(Buf *b, PyObject *o)
{
    if (PyLong_CheckExact(o)) {
        long long v = PyLong_AsLongLong(o);
        if (v == -1 && PyErr_Occurred()) return -1;
        return mp_int(b, v);
    }
    return mp_float(b, PyFloat_AS_DOUBLE(o));
}

static uint32_t crc_table[256];

static void
crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

/* zlib's crc32 (the same polynomial and conditioning): the reader checks it with zlib. */
static uint32_t
crc32_of(const unsigned char *p, Py_ssize_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (Py_ssize_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

/* -- number formats the venue's builder writes (requests.format_price / format_qty) ------- */

/* Decimal digits of v > 0 (snprintf's "%lld" cost ~0.3 us in place, issue 26). */
static int
digits(unsigned long long v, char *out)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    return n;
}

/* A whole quantity as digits; 0 when the Python builder would write it otherwise. */
static int
fmt_qty(PyObject *o, char *out)
{
    if (PyLong_CheckExact(o)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow || v <= 0) return 0;
        return digits((unsigned long long)v, out);
    }
    if (!PyFloat_CheckExact(o)) return 0;
    double v = PyFloat_AS_DOUBLE(o);
    if (!(v >= 1.0 && v < 1e15) || v != floor(v)) return 0;
    return digits((unsigned long long)v, out);
}

/* A price of $1 or more on the cent grid (format_price's fast path); 0 otherwise. */
static int
fmt_price(PyObject *o, char *out)
{
    if (!PyFloat_CheckExact(o)) return 0;
    double v = PyFloat_AS_DOUBLE(o);
    if (!(v >= 1.0 && v < 1e9)) return 0;
    double scaled = v * 100;
    double cents = nearbyint(scaled); /* round half to even, as Python's round() */
    if (!(fabs(scaled - cents) <= 1e-7)) return 0;
    unsigned long long c = (unsigned long long)cents;
    int n = digits(c / 100, out);
    out[n] = '.';
    out[n + 1] = (char)('0' + (c % 100) / 10);
    out[n + 2] = (char)('0' + c % 10);
    return n + 3;
}

/* -- OrderPath ---------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    RiskCore *risk;
    PyObject *journal; /* its ``fd`` is read per call: a rotation replaces it */
    PyObject *fd_name;
    int fsync_always;
    Buf frame, req;
} OrderPath;

static void
OrderPath_dealloc(OrderPath *self)
{
    Py_XDECREF(self->risk);
    Py_XDECREF(self->journal);
    Py_XDECREF(self->fd_name);
    PyMem_Free(self->frame.p);
    PyMem_Free(self->req.p);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
OrderPath_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    /* OrderPath(risk_core, journal, fsync_always) */
    PyObject *risk, *journal;
    int fsync_always;
    if (!PyArg_ParseTuple(args, "O!Op", &RiskCoreType, &risk, &journal, &fsync_always))
        return NULL;
    OrderPath *self = (OrderPath *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    Py_INCREF(risk);
    self->risk = (RiskCore *)risk;
    Py_INCREF(journal);
    self->journal = journal;
    self->fd_name = PyUnicode_InternFromString("fd");
    self->fsync_always = fsync_always;
    if (self->fd_name == NULL || buf_reserve(&self->frame, 1024) < 0
        || buf_reserve(&self->req, 2048) < 0) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* The intent record's data, key for key as Ledger.create_intent writes it. */
static int
write_intent(OrderPath *self, PyObject *cid, long long ts_ns, PyObject *symbol, PyObject *side,
             PyObject *qty, PyObject *order_type, PyObject *limit, PyObject *strategy,
             PyObject *tif, int with_ref, double ref)
{
    Buf *b = &self->frame;
    b->len = 8; /* the head is written last */
    if (mp_byte(b, 0x94) < 0 || mp_str(b, "intent", 6) < 0 || mp_pystr(b, cid) < 0
        || mp_int(b, ts_ns) < 0 || mp_byte(b, with_ref ? 0x88 : 0x87) < 0
        || mp_str(b, "symbol", 6) < 0 || mp_pystr(b, symbol) < 0 || mp_str(b, "side", 4) < 0
        || mp_pystr(b, side) < 0 || mp_str(b, "qty", 3) < 0 || mp_number(b, qty) < 0
        || mp_str(b, "type", 4) < 0 || mp_pystr(b, order_type) < 0 || mp_str(b, "limit", 5) < 0)
        return -1;
    if (limit == Py_None ? mp_byte(b, 0xc0) : mp_number(b, limit)) return -1;
    if (mp_str(b, "strategy", 8) < 0 || mp_pystr(b, strategy) < 0 || mp_str(b, "tif", 3) < 0
        || mp_pystr(b, tif) < 0)
        return -1;
    if (with_ref && (mp_str(b, "ref", 3) < 0 || mp_float(b, ref) < 0)) return -1;
    Py_ssize_t n = b->len - 8;
    uint32_t crc = crc32_of((const unsigned char *)b->p + 8, n);
    for (int i = 0; i < 4; i++) {
        b->p[i] = (char)((n >> (8 * i)) & 0xff); /* little-endian, as struct "<II" */
        b->p[4 + i] = (char)((crc >> (8 * i)) & 0xff);
    }
    return 0;
}

static int
append(Buf *b, const char *s, Py_ssize_t n)
{
    if (buf_reserve(b, n) < 0) return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

#define NARGS 18

static PyObject *
OrderPath_submit(OrderPath *self, PyObject *const *args, Py_ssize_t nargs)
{
    /* submit(template, cid, symbol, side, order_type, tif, strategy, qty, limit, mid,
     *        position, open_orders, gross, daily_pnl, now_ns, working, working_notional,
     *        ts_ns) -> bytes (written to the journal; send these) | int (denied) | None */
    if (nargs != NARGS) {
        PyErr_Format(PyExc_TypeError, "submit takes %d positional arguments", NARGS);
        return NULL;
    }
    PyObject *tpl = args[0], *cid = args[1], *symbol = args[2], *side = args[3];
    PyObject *order_type = args[4], *tif = args[5], *strategy = args[6], *qty = args[7];
    PyObject *limit = args[8], *working = args[15];
    /* template: (head, a, b, c, d, has_limit, max_cid); the body is a cid b qty c [price d] */
    if (!PyTuple_CheckExact(tpl) || PyTuple_GET_SIZE(tpl) != 7) {
        PyErr_SetString(PyExc_TypeError, "template is a 7-tuple");
        return NULL;
    }
    char qty_s[32], price_s[32];
    int qty_n = fmt_qty(qty, qty_s), price_n = 0;
    int has_limit = PyObject_IsTrue(PyTuple_GET_ITEM(tpl, 5));
    if (qty_n <= 0 || has_limit != (limit != Py_None)) Py_RETURN_NONE;
    if (has_limit && (price_n = fmt_price(limit, price_s)) <= 0) Py_RETURN_NONE;
    /* The id goes into the JSON as it is: only one the builder would write unescaped. */
    Py_ssize_t cid_n;
    const char *cid_s = PyUnicode_AsUTF8AndSize(cid, &cid_n);
    if (cid_s == NULL) return NULL;
    if (cid_n < 1 || cid_n > PyLong_AsSsize_t(PyTuple_GET_ITEM(tpl, 6))) Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < cid_n; i++) {
        unsigned char ch = (unsigned char)cid_s[i];
        if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') Py_RETURN_NONE;
    }
    Ask a;
    a.crypto = 0;
    a.buy = PyUnicode_CompareWithASCIIString(side, "buy") == 0;
    a.notional = 0.0;
    a.multiplier = 1.0;
    if (as_double(qty, &a.qty) < 0 || as_optional(limit, &a.price, &a.has_price) < 0
        || as_optional(args[9], &a.mid, &a.has_mid) < 0 || as_double(args[10], &a.position) < 0
        || as_double(args[11], &a.open_orders) < 0 || as_double(args[12], &a.gross) < 0
        || as_double(args[13], &a.daily_pnl) < 0 || as_double(args[16], &a.working_notional) < 0)
        return NULL;
    a.now_ns = PyLong_AsLongLong(args[14]);
    long long ts_ns = PyLong_AsLongLong(args[17]);
    if (PyErr_Occurred()) return NULL;
    if (working == Py_None) {
        a.working_buy = a.working_sell = 0.0;
    } else {
        if (!PyList_CheckExact(working) || PyList_GET_SIZE(working) != 2) {
            PyErr_SetString(PyExc_TypeError, "working is [buy, sell]");
            return NULL;
        }
        if (as_double(PyList_GET_ITEM(working, 0), &a.working_buy) < 0
            || as_double(PyList_GET_ITEM(working, 1), &a.working_sell) < 0)
            return NULL;
    }
    int code = risk_rules(self->risk, &a);
    if (code != APPROVED) return PyLong_FromLong(code);
    /* The reference the order is booked at: the worse of the limit and the mid. */
    double ref = (a.has_price && a.price > a.mid) ? a.price : a.mid;
    int with_ref = !(a.has_price && ref == a.price);
    if (write_intent(self, cid, ts_ns, symbol, side, qty, order_type, limit, strategy, tif,
                     with_ref, ref) < 0)
        goto undo;
    /* The request: head, Content-Length, body. */
    PyObject *head = PyTuple_GET_ITEM(tpl, 0), *pa = PyTuple_GET_ITEM(tpl, 1);
    PyObject *pb = PyTuple_GET_ITEM(tpl, 2), *pc = PyTuple_GET_ITEM(tpl, 3);
    PyObject *pd = PyTuple_GET_ITEM(tpl, 4);
    Py_ssize_t body = PyBytes_GET_SIZE(pa) - 4 + cid_n + PyBytes_GET_SIZE(pb) + qty_n
                      + PyBytes_GET_SIZE(pc) + (has_limit ? price_n + PyBytes_GET_SIZE(pd) : 0);
    char len_s[24];
    int len_n = digits((unsigned long long)body, len_s);
    Buf *q = &self->req;
    q->len = 0;
    if (append(q, PyBytes_AS_STRING(head), PyBytes_GET_SIZE(head)) < 0
        || append(q, len_s, len_n) < 0
        || append(q, PyBytes_AS_STRING(pa), PyBytes_GET_SIZE(pa)) < 0
        || append(q, cid_s, cid_n) < 0 || append(q, PyBytes_AS_STRING(pb), PyBytes_GET_SIZE(pb)) < 0
        || append(q, qty_s, qty_n) < 0 || append(q, PyBytes_AS_STRING(pc), PyBytes_GET_SIZE(pc)) < 0)
        goto undo;
    if (has_limit
        && (append(q, price_s, price_n) < 0
            || append(q, PyBytes_AS_STRING(pd), PyBytes_GET_SIZE(pd)) < 0))
        goto undo;
    PyObject *raw = PyBytes_FromStringAndSize(q->p, q->len);
    if (raw == NULL) goto undo;
    /* The intent is in the page cache before the order's bytes exist anywhere else. */
    PyObject *fd_obj = PyObject_GetAttr(self->journal, self->fd_name);
    if (fd_obj == NULL) {
        Py_DECREF(raw);
        goto undo;
    }
    int fd = (int)PyLong_AsLong(fd_obj);
    Py_DECREF(fd_obj);
    Py_ssize_t written;
    do {
        written = write(fd, self->frame.p, self->frame.len);
    } while (written < 0 && errno == EINTR);
    if (written != self->frame.len) {
        Py_DECREF(raw);
        if (written >= 0) errno = EIO; /* a short write to a regular file: out of space */
        PyErr_SetFromErrno(PyExc_OSError);
        goto undo;
    }
    if (self->fsync_always && fdatasync(fd) < 0) {
        Py_DECREF(raw);
        PyErr_SetFromErrno(PyExc_OSError);
        return NULL; /* written but not durable: the Python journal raises the same way */
    }
    return raw;
undo:
    self->risk->tokens += 1.0; /* nothing left: the throttle token goes back */
    return NULL;
}

static PyObject *
OrderPath_last_frame(OrderPath *self, PyObject *unused)
{
    /* The bytes of the last intent record written, for the journal's on_frame hook. */
    return PyBytes_FromStringAndSize(self->frame.p, self->frame.len);
}

static PyMethodDef OrderPath_methods[] = {
    {"submit", (PyCFunction)(void (*)(void))OrderPath_submit, METH_FASTCALL, "one order"},
    {"last_frame", (PyCFunction)OrderPath_last_frame, METH_NOARGS, "the last record's bytes"},
    {NULL},
};

static PyTypeObject OrderPathType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "tradewire.engine.native._orderpath.OrderPath",
    .tp_basicsize = sizeof(OrderPath),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Risk, the intent record and the request bytes of one order, in one call.",
    .tp_new = OrderPath_new,
    .tp_dealloc = (destructor)OrderPath_dealloc,
    .tp_methods = OrderPath_methods,
};

static PyObject *
crc32_py(PyObject *mod, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    uint32_t c = crc32_of((const unsigned char *)view.buf, view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(c);
}

static PyMethodDef module_methods[] = {
    {"crc32", crc32_py, METH_O, "zlib's crc32 of a buffer (tests compare the two)"},
    {NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_orderpath", "tradewire's native order path (issue 26).", -1,
    module_methods,
};

PyMODINIT_FUNC
PyInit__orderpath(void)
{
    crc_init();
    if (PyType_Ready(&RiskCoreType) < 0 || PyType_Ready(&OrderPathType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&RiskCoreType);
    Py_INCREF(&OrderPathType);
    if (PyModule_AddObject(m, "RiskCore", (PyObject *)&RiskCoreType) < 0
        || PyModule_AddObject(m, "OrderPath", (PyObject *)&OrderPathType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
