/* The overhead benchmark's workload in C with pthreads (the same phases as
 * recorder/benches/workload.rs), to time it with and without ThreadSanitizer.
 * Build: gcc -O2 -pthread workload.c [-fsanitize=thread]. Prints, per phase, the median
 * of 9 runs: "RESULT <phase> <ms>". */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define THREADS 4
#define MUTEX_ROUNDS 50000
#define PING_ROUNDS 10000
#define FLAG_ROUNDS 10000
#define UNCONTENDED_ROUNDS 1000000
#define REPS 9

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Phase 1: mutex-protected counter plus a plain "tagged" tally in the critical section. */
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t counter, tally;

static void *mutex_worker(void *arg) {
    (void)arg;
    for (int i = 0; i < MUTEX_ROUNDS; i++) {
        pthread_mutex_lock(&counter_lock);
        counter++;
        tally = tally + 1;
        pthread_mutex_unlock(&counter_lock);
    }
    return NULL;
}

static void mutex_counter(void) {
    pthread_t t[THREADS];
    counter = tally = 0;
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, mutex_worker, NULL);
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    if (counter != tally || counter != (uint64_t)THREADS * MUTEX_ROUNDS) abort();
}

/* Phase 2: channel ping-pong over unbounded queues (mutex + condvar + linked list). */
struct node { uint64_t v; struct node *next; };
struct chan {
    pthread_mutex_t m;
    pthread_cond_t c;
    struct node *head, *tail;
    int closed;
};

static void chan_init(struct chan *ch) {
    pthread_mutex_init(&ch->m, NULL);
    pthread_cond_init(&ch->c, NULL);
    ch->head = ch->tail = NULL;
    ch->closed = 0;
}

static void chan_send(struct chan *ch, uint64_t v) {
    struct node *n = malloc(sizeof *n);
    n->v = v;
    n->next = NULL;
    pthread_mutex_lock(&ch->m);
    if (ch->tail) ch->tail->next = n; else ch->head = n;
    ch->tail = n;
    pthread_cond_signal(&ch->c);
    pthread_mutex_unlock(&ch->m);
}

static void chan_close(struct chan *ch) {
    pthread_mutex_lock(&ch->m);
    ch->closed = 1;
    pthread_cond_broadcast(&ch->c);
    pthread_mutex_unlock(&ch->m);
}

/* Returns 0 when closed and empty. */
static int chan_recv(struct chan *ch, uint64_t *v) {
    pthread_mutex_lock(&ch->m);
    while (!ch->head && !ch->closed) pthread_cond_wait(&ch->c, &ch->m);
    struct node *n = ch->head;
    if (n) {
        ch->head = n->next;
        if (!ch->head) ch->tail = NULL;
    }
    pthread_mutex_unlock(&ch->m);
    if (!n) return 0;
    *v = n->v;
    free(n);
    return 1;
}

struct pair { struct chan ping, pong; };

static void *pinger(void *arg) {
    struct pair *p = arg;
    uint64_t sum = 0, v;
    for (uint64_t r = 0; r < PING_ROUNDS; r++) {
        chan_send(&p->ping, r);
        chan_recv(&p->pong, &v);
        sum += v;
    }
    chan_close(&p->ping);
    return (void *)(uintptr_t)sum;
}

static void *ponger(void *arg) {
    struct pair *p = arg;
    uint64_t v;
    while (chan_recv(&p->ping, &v)) chan_send(&p->pong, v + 1);
    return NULL;
}

static void ping_pong(void) {
    struct pair pairs[THREADS / 2];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS / 2; i++) {
        chan_init(&pairs[i].ping);
        chan_init(&pairs[i].pong);
        pthread_create(&t[2 * i], NULL, pinger, &pairs[i]);
        pthread_create(&t[2 * i + 1], NULL, ponger, &pairs[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
}

/* Phase 3: atomic flag publication of a plain variable, with an acknowledgement. */
struct flagpair { uint64_t data; _Atomic uint64_t flag, ack; };

static void spin_until_eq(_Atomic uint64_t *a, uint64_t want) {
    unsigned spins = 0;
    while (atomic_load_explicit(a, memory_order_acquire) != want) {
        if (++spins < 64) __builtin_ia32_pause(); else sched_yield();
    }
}

static void *producer(void *arg) {
    struct flagpair *p = arg;
    for (uint64_t r = 1; r <= FLAG_ROUNDS; r++) {
        p->data = r * 3;
        atomic_store_explicit(&p->flag, r, memory_order_release);
        spin_until_eq(&p->ack, r);
    }
    return NULL;
}

static void *consumer(void *arg) {
    struct flagpair *p = arg;
    uint64_t sum = 0;
    for (uint64_t r = 1; r <= FLAG_ROUNDS; r++) {
        spin_until_eq(&p->flag, r);
        sum += p->data;
        atomic_store_explicit(&p->ack, r, memory_order_release);
    }
    return (void *)(uintptr_t)sum;
}

static void flag_publication(void) {
    struct flagpair pairs[THREADS / 2];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS / 2; i++) {
        pairs[i].data = 0;
        atomic_init(&pairs[i].flag, 0);
        atomic_init(&pairs[i].ack, 0);
        pthread_create(&t[2 * i], NULL, producer, &pairs[i]);
        pthread_create(&t[2 * i + 1], NULL, consumer, &pairs[i]);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
}

/* Diagnostic: one thread, uncontended lock/unlock. */
static void uncontended(void) {
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    volatile uint64_t n = 0;
    for (int i = 0; i < UNCONTENDED_ROUNDS; i++) {
        pthread_mutex_lock(&m);
        n = n + 1;
        pthread_mutex_unlock(&m);
    }
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_ms(void (*f)(void)) {
    double t[REPS];
    for (int i = 0; i < REPS; i++) {
        double s = now_ms();
        f();
        t[i] = now_ms() - s;
    }
    qsort(t, REPS, sizeof t[0], cmp);
    return t[REPS / 2];
}

int main(void) {
    double a = median_ms(mutex_counter), b = median_ms(ping_pong), c = median_ms(flag_publication);
    printf("RESULT mutex_counter_+_tagged_r/w %.2f\n", a);
    printf("RESULT channel_ping-pong %.2f\n", b);
    printf("RESULT atomic_flag_publication %.2f\n", c);
    printf("RESULT total %.2f\n", a + b + c);
    printf("RESULT (1_thread,_uncontended_lock/unlock) %.2f\n", median_ms(uncontended));
    return 0;
}
