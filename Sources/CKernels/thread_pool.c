// A small fork-join thread pool for the kernels' parallel regions (Parallel.forRange; docs/kernels.md §11).
// Decode runs about 33 regions per token, each a few hundred microseconds; with Dispatch's concurrentPerform every
// region woke a sleeping worker thread, and on a virtual machine a wake-up takes tens of microseconds, during which
// the caller waits with its share done. Here the workers spin (with `pause`) for a while after each region before
// they sleep on a condition variable, as OpenMP's and llama.cpp's thread pools do, so back-to-back regions start at
// once; a worker that slept is woken under the pool's mutex, so no wake-up is lost.
//
// One region at a time: every active worker takes part in every region (it gets the region's generation number in
// its own `go` word, takes task indices from a shared counter, then stores the number in its own `ack` word), and the
// caller returns only when all of them have acknowledged, so the region's fields are never rewritten under a worker.
// A call from inside a task, or while another thread's region runs, returns 0 and the caller runs its tasks some
// other way (Parallel.forRange: Dispatch). Before an OpenBLAS product, whose own threads need the cores, ck_pool_nap
// sends the spinning workers to sleep at once.
#include "CKernels.h"
#include <immintrin.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

// How long an idle worker spins before it sleeps, in time-stamp-counter ticks (about 70-100 us at 2-3 GHz): long
// enough to bridge the gaps between decode's regions, short enough that a spinning worker does not hold a core for
// long while OpenBLAS's threads run a product between two regions.
enum { MAX_WORKERS = 63 };
static const unsigned long long SPIN_TICKS = 200000;

typedef struct {
    _Alignas(64) atomic_uint go;
    _Alignas(64) atomic_uint ack;
} worker_t;

static struct {
    pthread_mutex_t lock;     // guards sleeping and `go` stores (no lost wake-ups)
    pthread_cond_t wake;
    pthread_mutex_t busy;     // one region at a time
    worker_t workers[MAX_WORKERS];
    int started, active;
    unsigned generation;
    ck_pool_task fn;
    void *ctx;
    int n;
    _Alignas(64) atomic_int next;
    atomic_int nap;            // set by ck_pool_nap: idle workers sleep at once instead of spinning
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};

static _Thread_local int in_task;

static void run_tasks(void) {
    int i;
    while ((i = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed)) < pool.n) pool.fn(pool.ctx, i);
}

static void *worker_main(void *arg) {
    worker_t *me = arg;
    unsigned seen = 0;
    in_task = 1;
    for (;;) {
        unsigned g;
        unsigned long long since = __rdtsc();
        while ((g = atomic_load_explicit(&me->go, memory_order_acquire)) == seen) {
            if (__rdtsc() - since < SPIN_TICKS && !atomic_load_explicit(&pool.nap, memory_order_relaxed)) {
                _mm_pause();
                continue;
            }
            pthread_mutex_lock(&pool.lock);
            while (atomic_load_explicit(&me->go, memory_order_acquire) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
            pthread_mutex_unlock(&pool.lock);
        }
        seen = g;
        run_tasks();
        atomic_store_explicit(&me->ack, g, memory_order_release);
    }
    return NULL;
}

int ck_pool_run(int n, int threads, ck_pool_task fn, void *ctx) {
    if (in_task || threads < 2 || n < 2) return 0;
    if (pthread_mutex_trylock(&pool.busy) != 0) return 0;
    int want = threads - 1 < MAX_WORKERS ? threads - 1 : MAX_WORKERS;
    while (pool.started < want) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&t, &attr, worker_main, &pool.workers[pool.started]);
        pthread_attr_destroy(&attr);
        if (failed) break;
        pool.started++;
    }
    pool.active = want < pool.started ? want : pool.started;
    if (pool.active == 0) { pthread_mutex_unlock(&pool.busy); return 0; }
    pool.fn = fn;
    pool.ctx = ctx;
    pool.n = n;
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.nap, 0, memory_order_relaxed);
    unsigned g = ++pool.generation;
    if (g == 0) g = ++pool.generation;   // 0 is every worker's "seen" at start
    pthread_mutex_lock(&pool.lock);
    for (int w = 0; w < pool.active; w++) atomic_store_explicit(&pool.workers[w].go, g, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    in_task = 1;
    run_tasks();
    in_task = 0;
    for (int w = 0; w < pool.active; w++)
        while (atomic_load_explicit(&pool.workers[w].ack, memory_order_acquire) != g) _mm_pause();
    pthread_mutex_unlock(&pool.busy);
    return 1;
}

void ck_pool_nap(void) {
    if (!atomic_load_explicit(&pool.nap, memory_order_relaxed)) atomic_store_explicit(&pool.nap, 1, memory_order_relaxed);
}
