/* Reduction rules for weighted k-cover with locks and groups (planner.setcover.reduce).
 *
 * sightline_reduce.rules(arrays, seconds) applies the rules of reduce.py's docstring until nothing changes
 * (at most 50 rounds): forced columns, rows that force all their candidates, empty columns, dominated rows,
 * cost-dominated and dominated columns. The dominance checks stop once `seconds` have passed (the reduction is
 * then smaller, still valid). The incidence is given both ways (CSR by column and by row) with the groups'
 * members; alive flags and counts stand in for the sets the rules shrink. The GIL is released while it runs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    A_COL_PTR, A_COL_ROWS, A_ROW_PTR, A_ROW_COLS, A_COST, A_GROUP, A_GROUP_PTR, A_GROUP_COLS, A_FORCED,
    A_DEMAND, A_COL_ALIVE, A_ROW_ALIVE, A_FIXED, A_INFEASIBLE, N_ARRAYS
};

typedef struct {
    int64_t n_rows, n_cols, n_groups, n_forced;
    const int64_t *cp, *cr, *rp, *rc, *cost, *grp, *gp, *gc, *forced;
    int64_t *demand, *fixed, *infeasible;
    uint8_t *calive, *ralive;
    int64_t *ccnt, *rcnt, *cst, *rst, *gst, *tmp;
    uint8_t *mark;
    int64_t gen, n_fixed, n_infeasible, removed_cols, removed_rows;
    double deadline;
    int capped;
} S;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int out_of_time(S *s) {
    if (now() > s->deadline) {
        s->capped = 1;
        return 1;
    }
    return 0;
}

static void kill_row(S *s, int64_t r) {
    s->ralive[r] = 0;
    for (int64_t q = s->rp[r]; q < s->rp[r + 1]; q++)
        if (s->calive[s->rc[q]]) s->ccnt[s->rc[q]]--;
}

static void drop_row(S *s, int64_t r) {
    if (!s->ralive[r]) return;
    kill_row(s, r);
    s->removed_rows++;
}

static void kill_col(S *s, int64_t j) {
    s->calive[j] = 0;
    for (int64_t p = s->cp[j]; p < s->cp[j + 1]; p++)
        if (s->ralive[s->cr[p]]) s->rcnt[s->cr[p]]--;
}

static void drop_col(S *s, int64_t j) {
    if (!s->calive[j]) return;
    kill_col(s, j);
    s->removed_cols++;
}

/* Fix column j to 1: its rows need one column less, its group mates go. */
static void force_col(S *s, int64_t j) {
    if (!s->calive[j]) return;
    kill_col(s, j);
    s->fixed[s->n_fixed++] = j;
    for (int64_t p = s->cp[j]; p < s->cp[j + 1]; p++) {
        int64_t r = s->cr[p];
        if (!s->ralive[r]) continue;
        if (--s->demand[r] <= 0) drop_row(s, r);
    }
    int64_t g = s->grp[j];
    if (g >= 0)
        for (int64_t q = s->gp[g]; q < s->gp[g + 1]; q++) drop_col(s, s->gc[q]);
}

/* How many alive candidates of row r can be chosen together (one per group). */
static int64_t distinct_groups(S *s, int64_t r) {
    int64_t gen = ++s->gen, count = 0;
    for (int64_t q = s->rp[r]; q < s->rp[r + 1]; q++) {
        int64_t c = s->rc[q];
        if (!s->calive[c]) continue;
        int64_t g = s->grp[c];
        if (g < 0) {
            count++;
        } else if (s->gst[g] != gen) {
            s->gst[g] = gen;
            count++;
        }
    }
    return count;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct {
    int64_t a, b, c;
} Key;

static int cmp_key(const void *x, const void *y) {
    const Key *p = x, *q = y;
    if (p->a != q->a) return (p->a > q->a) - (p->a < q->a);
    if (p->b != q->b) return (p->b > q->b) - (p->b < q->b);
    return (p->c > q->c) - (p->c < q->c);
}

/* Drop row j when some row i has cols(i) ⊆ cols(j) and demand(i) >= demand(j). */
static int dominated_rows(S *s) {
    int changed = 0;
    int64_t n = 0;
    Key *order = malloc(sizeof(Key) * (size_t)(s->n_rows ? s->n_rows : 1));
    if (!order) return 0;
    for (int64_t r = 0; r < s->n_rows; r++)
        if (s->ralive[r]) order[n++] = (Key){s->rcnt[r], r, 0};
    qsort(order, (size_t)n, sizeof(Key), cmp_key);
    for (int64_t step = 0; step < n; step++) {
        if (step % 64 == 0 && out_of_time(s)) break;
        int64_t i = order[step].b;
        if (!s->ralive[i] || s->rcnt[i] == 0) continue;
        int64_t gen = ++s->gen, pivot = -1;
        for (int64_t q = s->rp[i]; q < s->rp[i + 1]; q++) {
            int64_t c = s->rc[q];
            if (!s->calive[c]) continue;
            s->cst[c] = gen;
            if (pivot < 0 || s->ccnt[c] < s->ccnt[pivot]) pivot = c;
        }
        for (int64_t p = s->cp[pivot]; p < s->cp[pivot + 1]; p++) {
            int64_t j = s->cr[p];
            if (j == i || !s->ralive[j] || s->demand[j] > s->demand[i] || s->rcnt[j] < s->rcnt[i]) continue;
            int64_t shared = 0;
            for (int64_t q = s->rp[j]; q < s->rp[j + 1] && shared < s->rcnt[i]; q++)
                if (s->cst[s->rc[q]] == gen && s->calive[s->rc[q]]) shared++;
            if (shared == s->rcnt[i]) {
                drop_row(s, j);
                changed = 1;
            }
        }
    }
    free(order);
    return changed;
}

/* Whether column c only serves rows that need one more column (so another column can replace it). */
static int replaceable(S *s, int64_t c) {
    for (int64_t p = s->cp[c]; p < s->cp[c + 1]; p++)
        if (s->ralive[s->cr[p]] && s->demand[s->cr[p]] != 1) return 0;
    return 1;
}

#define BIG (INT64_MAX / 4)

/* Drop column c when the cheapest other ungrouped columns of its rows together cost no more than c. */
static int cost_dominated_columns(S *s) {
    int changed = 0;
    /* Per row: the cheapest and second cheapest ungrouped alive columns (b1, a1, b2, a2), refreshed when one
     * of them is gone; a1 = -2 means not computed yet. */
    int64_t *best = malloc(sizeof(int64_t) * 4 * (size_t)(s->n_rows ? s->n_rows : 1));
    if (!best) return 0;
    for (int64_t r = 0; r < s->n_rows; r++) best[4 * r + 1] = -2;
    int64_t step = 0;
    for (int64_t c = 0; c < s->n_cols; c++) {
        if (!s->calive[c]) continue;
        if (step++ % 256 == 0 && out_of_time(s)) break;
        if (s->ccnt[c] == 0 || !replaceable(s, c)) continue;
        int64_t total = 0, limit = s->cost[c];
        for (int64_t p = s->cp[c]; p < s->cp[c + 1] && total <= limit; p++) {
            int64_t r = s->cr[p];
            if (!s->ralive[r]) continue;
            int64_t *e = best + 4 * r;
            if (e[1] == -2 || (e[1] >= 0 && !s->calive[e[1]]) || (e[3] >= 0 && !s->calive[e[3]])) {
                int64_t b1 = BIG, a1 = -1, b2 = BIG, a2 = -1;
                for (int64_t q = s->rp[r]; q < s->rp[r + 1]; q++) {
                    int64_t d = s->rc[q];
                    if (!s->calive[d] || s->grp[d] >= 0) continue;
                    int64_t cd = s->cost[d];
                    if (cd < b1 || (cd == b1 && d < a1)) {
                        b2 = b1;
                        a2 = a1;
                        b1 = cd;
                        a1 = d;
                    } else if (cd < b2 || (cd == b2 && d < a2)) {
                        b2 = cd;
                        a2 = d;
                    }
                }
                e[0] = b1, e[1] = a1, e[2] = b2, e[3] = a2;
            }
            total += e[1] == c ? e[2] : e[0];
        }
        if (total <= limit) {
            drop_col(s, c);
            changed = 1;
        }
    }
    free(best);
    return changed;
}

/* Drop column c when an alive column d covers all its rows at no higher cost and may replace it (d ungrouped
 * or in c's group). */
static int dominated_columns(S *s) {
    int changed = 0;
    int64_t n = 0;
    Key *order = malloc(sizeof(Key) * (size_t)(s->n_cols ? s->n_cols : 1));
    if (!order) return 0;
    for (int64_t c = 0; c < s->n_cols; c++)
        if (s->calive[c]) order[n++] = (Key){-s->cost[c], s->ccnt[c], c};
    qsort(order, (size_t)n, sizeof(Key), cmp_key);
    for (int64_t step = 0; step < n; step++) {
        if (step % 64 == 0 && out_of_time(s)) break;
        int64_t c = order[step].c;
        if (!s->calive[c] || s->ccnt[c] == 0 || !replaceable(s, c)) continue;
        int64_t gen = ++s->gen, pivot = -1;
        for (int64_t p = s->cp[c]; p < s->cp[c + 1]; p++) {
            int64_t r = s->cr[p];
            if (!s->ralive[r]) continue;
            s->rst[r] = gen;
            if (pivot < 0 || s->rcnt[r] < s->rcnt[pivot]) pivot = r;
        }
        int64_t g = s->grp[c];
        for (int64_t q = s->rp[pivot]; q < s->rp[pivot + 1]; q++) {
            int64_t d = s->rc[q];
            if (d == c || !s->calive[d] || s->cost[d] > s->cost[c] || s->ccnt[d] < s->ccnt[c]) continue;
            if (s->grp[d] >= 0 && s->grp[d] != g) continue;
            int64_t shared = 0;
            for (int64_t p = s->cp[d]; p < s->cp[d + 1] && shared < s->ccnt[c]; p++)
                if (s->rst[s->cr[p]] == gen && s->ralive[s->cr[p]]) shared++;
            if (shared == s->ccnt[c]) {
                drop_col(s, c);
                changed = 1;
                break;
            }
        }
    }
    free(order);
    return changed;
}

static void reduce(S *s) {
    for (int64_t r = 0; r < s->n_rows; r++) s->ralive[r] = s->demand[r] > 0;
    for (int64_t j = 0; j < s->n_cols; j++) {
        s->calive[j] = 1;
        s->ccnt[j] = 0;
        for (int64_t p = s->cp[j]; p < s->cp[j + 1]; p++) s->ccnt[j] += s->ralive[s->cr[p]];
    }
    for (int64_t r = 0; r < s->n_rows; r++) s->rcnt[r] = s->ralive[r] ? s->rp[r + 1] - s->rp[r] : 0;
    for (int64_t k = 0; k < s->n_forced; k++) force_col(s, s->forced[k]);
    for (int round = 0; round < 50; round++) {
        /* A row needs its demand in candidates from distinct groups; exactly that many forces them all. */
        int64_t n_force = 0;
        for (int64_t r = 0; r < s->n_rows; r++) {
            if (!s->ralive[r]) continue;
            int64_t available = distinct_groups(s, r);
            if (available < s->demand[r]) {
                s->infeasible[s->n_infeasible++] = r;
            } else if (available == s->rcnt[r] && available == s->demand[r]) {
                for (int64_t q = s->rp[r]; q < s->rp[r + 1]; q++) {
                    int64_t c = s->rc[q];
                    if (s->calive[c] && !s->mark[c]) {
                        s->mark[c] = 1;
                        s->tmp[n_force++] = c;
                    }
                }
            }
        }
        if (s->n_infeasible) return;
        if (n_force) {
            qsort(s->tmp, (size_t)n_force, sizeof(int64_t), cmp_i64);
            for (int64_t k = 0; k < n_force; k++) s->mark[s->tmp[k]] = 0;
            for (int64_t k = 0; k < n_force; k++) force_col(s, s->tmp[k]);
            continue;
        }
        /* A column that covers no row still in need is never useful (costs are non-negative). */
        for (int64_t j = 0; j < s->n_cols; j++)
            if (s->calive[j] && s->ccnt[j] == 0) drop_col(s, j);
        int changed = dominated_rows(s);
        changed |= cost_dominated_columns(s);
        changed |= dominated_columns(s);
        if (!changed) return;
    }
}

static PyObject *rules(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *arrays;
    double seconds;
    if (!PyArg_ParseTuple(args, "O!d", &PyTuple_Type, &arrays, &seconds)) return NULL;
    if (PyTuple_GET_SIZE(arrays) != N_ARRAYS) {
        PyErr_Format(PyExc_ValueError, "expected %d arrays, got %zd", N_ARRAYS, PyTuple_GET_SIZE(arrays));
        return NULL;
    }
    Py_buffer v[N_ARRAYS];
    int got = 0;
    for (; got < N_ARRAYS; got++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(arrays, got), &v[got], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) break;
        Py_ssize_t want = (got == A_COL_ALIVE || got == A_ROW_ALIVE) ? 1 : 8;
        if (v[got].itemsize != want) {
            PyErr_Format(PyExc_TypeError, "array %d has items of %zd bytes, expected %zd", got, v[got].itemsize, want);
            PyBuffer_Release(&v[got]);
            break;
        }
    }
    if (got < N_ARRAYS) {
        for (int i = 0; i < got; i++) PyBuffer_Release(&v[i]);
        return NULL;
    }
    S s;
    memset(&s, 0, sizeof s);
    s.n_cols = v[A_COL_ALIVE].len;
    s.n_rows = v[A_ROW_ALIVE].len;
    s.n_groups = v[A_GROUP_PTR].len / 8 - 1;
    s.n_forced = v[A_FORCED].len / 8;
    s.cp = v[A_COL_PTR].buf, s.cr = v[A_COL_ROWS].buf, s.rp = v[A_ROW_PTR].buf, s.rc = v[A_ROW_COLS].buf;
    s.cost = v[A_COST].buf, s.grp = v[A_GROUP].buf, s.gp = v[A_GROUP_PTR].buf, s.gc = v[A_GROUP_COLS].buf;
    s.forced = v[A_FORCED].buf, s.demand = v[A_DEMAND].buf, s.fixed = v[A_FIXED].buf;
    s.infeasible = v[A_INFEASIBLE].buf, s.calive = v[A_COL_ALIVE].buf, s.ralive = v[A_ROW_ALIVE].buf;
    int ok = v[A_COL_PTR].len / 8 == s.n_cols + 1 && v[A_ROW_PTR].len / 8 == s.n_rows + 1 &&
             v[A_COST].len / 8 == s.n_cols && v[A_GROUP].len / 8 == s.n_cols && v[A_DEMAND].len / 8 == s.n_rows &&
             v[A_FIXED].len / 8 == s.n_cols && v[A_INFEASIBLE].len / 8 == s.n_rows && s.n_groups >= 0 &&
             v[A_COL_ROWS].len == v[A_ROW_COLS].len;
    int no_memory = 0;
    if (ok) {
        size_t nr = (size_t)s.n_rows + 1, nc = (size_t)s.n_cols + 1, ng = (size_t)s.n_groups + 1;
        s.ccnt = calloc(nc, 8), s.rcnt = calloc(nr, 8), s.cst = calloc(nc, 8), s.rst = calloc(nr, 8);
        s.gst = calloc(ng, 8), s.tmp = calloc(nc, 8), s.mark = calloc(nc, 1);
        no_memory = !(s.ccnt && s.rcnt && s.cst && s.rst && s.gst && s.tmp && s.mark);
        if (!no_memory) {
            Py_BEGIN_ALLOW_THREADS
            s.deadline = now() + seconds;
            reduce(&s);
            Py_END_ALLOW_THREADS
        }
        free(s.ccnt), free(s.rcnt), free(s.cst), free(s.rst), free(s.gst), free(s.tmp), free(s.mark);
    }
    for (int i = 0; i < N_ARRAYS; i++) PyBuffer_Release(&v[i]);
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "inconsistent array sizes");
        return NULL;
    }
    if (no_memory) return PyErr_NoMemory();
    return Py_BuildValue("LLLLi", (long long)s.n_fixed, (long long)s.n_infeasible, (long long)s.removed_cols,
                         (long long)s.removed_rows, s.capped);
}

static PyMethodDef methods[] = {
    {"rules", rules, METH_VARARGS,
     "rules(arrays, seconds) -> (fixed, infeasible, removed columns, removed rows, capped): reduce in place."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "sightline_reduce", "Compiled k-cover reductions.", -1,
                                    methods};

PyMODINIT_FUNC PyInit_sightline_reduce(void) { return PyModule_Create(&module); }
