/* Ticket spinlocks.  Any CPU; the _irqsave forms disable interrupts. */
#ifndef NETHV_SPINLOCK_H
#define NETHV_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/x86.h>

typedef struct {
    volatile uint32_t next;
    volatile uint32_t owner;
} spinlock_t;

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock(spinlock_t *l)
{
    uint32_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
        cpu_relax();
}

/* Take the lock only if it is free now. */
static inline bool spin_trylock(spinlock_t *l)
{
    uint32_t me = __atomic_load_n(&l->next, __ATOMIC_RELAXED);
    if (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
        return false;
    /* owner never passes next: with next still `me`, owner is `me` too */
    return __atomic_compare_exchange_n(&l->next, &me, me + 1, false, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

static inline void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

#ifdef NETHV_USER
/* At CPL 3 (a monitor, arch/user.h) there is no interrupt state to save:
 * nothing of the monitor runs in an interrupt */
static inline uint64_t spin_lock_irqsave(spinlock_t *l)
{
    spin_lock(l);
    return 0;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, uint64_t f)
{
    spin_unlock(l);
}
#else
static inline uint64_t spin_lock_irqsave(spinlock_t *l)
{
    uint64_t f = irq_save();
    spin_lock(l);
    return f;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, uint64_t f)
{
    spin_unlock(l);
    irq_restore(f);
}
#endif

#endif
