/* Row-weighting local search kernel (RWLS, Gao, Weise & Li, EJOR 2015) for unicost set cover.
 *
 * The state lives in numpy arrays owned by planner.setcover.rwls.RowWeightingSearch (see its docstring for
 * their meaning); sightline_rwls.run(steps, target, arrays) advances it by up to `steps` swaps. The GIL is
 * released while it runs, so several searches can run side by side in threads.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

enum { N_UNCOV, N_SEL, BEST_SIZE, STEP, TABU, RNG, OP, TABU2, N_CTL };
enum {
    A_COL_PTR, A_COL_ROWS, A_ROW_PTR, A_ROW_COLS, A_SEL, A_COVER, A_ROWX, A_SCORE, A_WEIGHT, A_STAMP,
    A_UNCOV, A_UPOS, A_SEL_LIST, A_SPOS, A_ROW_OP, A_REMOVED_OP, A_BEST, A_CTL, N_ARRAYS
};

typedef struct {
    const int64_t *col_ptr, *col_rows, *row_ptr, *row_cols;
    uint8_t *sel, *best;
    int64_t *cover, *rowx, *score, *weight, *stamp, *uncov, *upos, *sel_list, *spos, *row_op, *removed_op, *ctl;
    Py_ssize_t n_cols;
} State;

static void add(State *s, int64_t j) {
    int64_t *ctl = s->ctl;
    int64_t op = ++ctl[OP];
    int64_t gain = s->score[j];
    for (int64_t p = s->col_ptr[j]; p < s->col_ptr[j + 1]; p++) {
        int64_t r = s->col_rows[p];
        int64_t c = s->cover[r];
        if (c == 0) {
            /* r leaves the uncovered set; every column covering it loses r's weight as gain. */
            int64_t w = s->weight[r];
            for (int64_t q = s->row_ptr[r]; q < s->row_ptr[r + 1]; q++) s->score[s->row_cols[q]] -= w;
            int64_t last = s->uncov[ctl[N_UNCOV] - 1];
            s->uncov[s->upos[r]] = last;
            s->upos[last] = s->upos[r];
            s->upos[r] = -1;
            ctl[N_UNCOV]--;
        } else if (c == 1) {
            /* The column that covered r alone no longer loses r when removed. */
            s->score[s->rowx[r]] += s->weight[r];
        }
        s->cover[r] = c + 1;
        s->rowx[r] ^= j;
        s->row_op[r] = op;
    }
    /* The loop took j's own gain down to 0; what it gained is now what it alone covers. */
    s->score[j] = -gain;
    s->sel[j] = 1;
    s->spos[j] = ctl[N_SEL];
    s->sel_list[ctl[N_SEL]] = j;
    ctl[N_SEL]++;
}

static void remove_col(State *s, int64_t j) {
    int64_t *ctl = s->ctl;
    int64_t op = ++ctl[OP];
    int64_t loss = -s->score[j];
    s->sel[j] = 0;
    int64_t last = s->sel_list[ctl[N_SEL] - 1];
    s->sel_list[s->spos[j]] = last;
    s->spos[last] = s->spos[j];
    s->spos[j] = -1;
    ctl[N_SEL]--;
    for (int64_t p = s->col_ptr[j]; p < s->col_ptr[j + 1]; p++) {
        int64_t r = s->col_rows[p];
        int64_t c = --s->cover[r];
        s->rowx[r] ^= j;
        s->row_op[r] = op;
        if (c == 0) {
            /* r becomes uncovered: every column covering it gains r's weight. */
            int64_t w = s->weight[r];
            for (int64_t q = s->row_ptr[r]; q < s->row_ptr[r + 1]; q++) s->score[s->row_cols[q]] += w;
            s->upos[r] = ctl[N_UNCOV];
            s->uncov[ctl[N_UNCOV]] = r;
            ctl[N_UNCOV]++;
        } else if (c == 1) {
            /* The one column still covering r would now lose it. */
            s->score[s->rowx[r]] -= s->weight[r];
        }
    }
    /* The loop raised j's own score from -loss to 0; the rows it alone covered are now its gain. */
    s->score[j] = loss;
    s->removed_op[j] = op;
}

/* Configuration checking: a removed column may come back once a row of it changed since its removal. */
static int allowed(const State *s, int64_t k) {
    int64_t t = s->removed_op[k];
    if (t < 0) return 1;
    for (int64_t p = s->col_ptr[k]; p < s->col_ptr[k + 1]; p++)
        if (s->row_op[s->col_rows[p]] > t) return 1;
    return 0;
}

static int better(const State *s, int64_t k, int64_t than) {
    return than < 0 || s->score[k] > s->score[than] ||
           (s->score[k] == s->score[than] && s->stamp[k] < s->stamp[than]);
}

static int64_t pick_removal(const State *s, int64_t avoid, int64_t avoid2) {
    int64_t best = -1;
    for (int64_t i = 0; i < s->ctl[N_SEL]; i++) {
        int64_t k = s->sel_list[i];
        if (k == avoid || k == avoid2) continue;
        if (better(s, k, best)) best = k;
    }
    if (best < 0 && s->ctl[N_SEL] > 0) best = s->sel_list[0];
    return best;
}

static void record_best(State *s) {
    if (s->ctl[N_UNCOV] == 0 && s->ctl[N_SEL] < s->ctl[BEST_SIZE]) {
        s->ctl[BEST_SIZE] = s->ctl[N_SEL];
        memcpy(s->best, s->sel, (size_t)s->n_cols);
    }
}

static void search(State *s, int64_t steps, int64_t target) {
    int64_t *ctl = s->ctl;
    for (int64_t it = 0; it < steps; it++) {
        while (ctl[N_UNCOV] == 0) {
            record_best(s);
            if (ctl[N_SEL] <= target || ctl[N_SEL] == 0) return;
            /* A cover: drop its least useful column and search one size smaller. */
            int64_t j = pick_removal(s, -1, -1);
            remove_col(s, j);
            s->stamp[j] = ctl[STEP];
        }
        int64_t step = ++ctl[STEP];
        /* Swap, part 1: drop the column whose removal uncovers the least weight (not the two last added). */
        int64_t j = pick_removal(s, ctl[TABU], ctl[TABU2]);
        if (j >= 0) {
            remove_col(s, j);
            s->stamp[j] = step;
        }
        /* Part 2: a random uncovered row (Park-Miller generator, exact in int64) and its best allowed column;
           the configuration check runs only on columns that would beat the current choice. */
        ctl[RNG] = ctl[RNG] * 48271 % 2147483647;
        int64_t r = s->uncov[ctl[RNG] % ctl[N_UNCOV]];
        int64_t chosen = -1, fallback = -1;
        for (int64_t q = s->row_ptr[r]; q < s->row_ptr[r + 1]; q++) {
            int64_t k = s->row_cols[q];
            if (better(s, k, fallback)) fallback = k;
            if (better(s, k, chosen) && allowed(s, k)) chosen = k;
        }
        if (chosen < 0) chosen = fallback;
        add(s, chosen);
        s->stamp[chosen] = step;
        ctl[TABU2] = ctl[TABU];
        ctl[TABU] = chosen;
        /* Rows still uncovered weigh one more, and so does every column's gain from them. */
        for (int64_t i = 0; i < ctl[N_UNCOV]; i++) {
            int64_t u = s->uncov[i];
            s->weight[u]++;
            for (int64_t q = s->row_ptr[u]; q < s->row_ptr[u + 1]; q++) s->score[s->row_cols[q]]++;
        }
    }
    /* The last step may have completed a cover. */
    record_best(s);
}

static PyObject *run(PyObject *self, PyObject *args) {
    long long steps, target;
    PyObject *arrays;
    if (!PyArg_ParseTuple(args, "LLO!", &steps, &target, &PyTuple_Type, &arrays)) return NULL;
    if (PyTuple_GET_SIZE(arrays) != N_ARRAYS) {
        PyErr_Format(PyExc_ValueError, "expected %d arrays, got %zd", N_ARRAYS, PyTuple_GET_SIZE(arrays));
        return NULL;
    }
    Py_buffer views[N_ARRAYS];
    int got = 0;
    for (; got < N_ARRAYS; got++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(arrays, got), &views[got], PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) break;
        Py_ssize_t want = (got == A_SEL || got == A_BEST) ? 1 : 8;
        if (views[got].itemsize != want) {
            PyErr_Format(PyExc_TypeError, "array %d has items of %zd bytes, expected %zd", got, views[got].itemsize, want);
            PyBuffer_Release(&views[got]);
            break;
        }
    }
    if (got < N_ARRAYS) {
        for (int i = 0; i < got; i++) PyBuffer_Release(&views[i]);
        return NULL;
    }
    State s;
    s.col_ptr = views[A_COL_PTR].buf;
    s.col_rows = views[A_COL_ROWS].buf;
    s.row_ptr = views[A_ROW_PTR].buf;
    s.row_cols = views[A_ROW_COLS].buf;
    s.sel = views[A_SEL].buf;
    s.cover = views[A_COVER].buf;
    s.rowx = views[A_ROWX].buf;
    s.score = views[A_SCORE].buf;
    s.weight = views[A_WEIGHT].buf;
    s.stamp = views[A_STAMP].buf;
    s.uncov = views[A_UNCOV].buf;
    s.upos = views[A_UPOS].buf;
    s.sel_list = views[A_SEL_LIST].buf;
    s.spos = views[A_SPOS].buf;
    s.row_op = views[A_ROW_OP].buf;
    s.removed_op = views[A_REMOVED_OP].buf;
    s.best = views[A_BEST].buf;
    s.ctl = views[A_CTL].buf;
    s.n_cols = views[A_SEL].len;
    int ok = views[A_CTL].len / 8 >= N_CTL && views[A_BEST].len == s.n_cols &&
             views[A_COL_PTR].len / 8 == s.n_cols + 1;
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        search(&s, steps, target);
        Py_END_ALLOW_THREADS
    }
    for (int i = 0; i < N_ARRAYS; i++) PyBuffer_Release(&views[i]);
    if (!ok) {
        PyErr_SetString(PyExc_ValueError, "inconsistent array sizes");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"run", run, METH_VARARGS, "run(steps, target, arrays): advance the search by up to `steps` swaps."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "sightline_rwls", "Compiled RWLS kernel.", -1, methods};

PyMODINIT_FUNC PyInit_sightline_rwls(void) { return PyModule_Create(&module); }
