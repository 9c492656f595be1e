/*
 * Suspended requests of one serving process: tickets, their deadlines and
 * the timer that enforces them (server_wait.c). Knows nothing of the HTTP
 * library: the server parks a connection its own way and hands this file
 * the function that unparks one.
 *
 * A ticket names one suspension. It is armed during a pipeline step, then
 * either parked (the connection leaves the server's loop; unpark() brings
 * it back) or blocked on (thread-per-connection: the connection's thread
 * sleeps), and woken exactly once: by soom_wait_wake() from any thread, or
 * by the timer when its deadline passes. The server then takes the
 * ticket's result, which retires it; a stale ticket is refused, never
 * confused with a later one (each slot counts its uses).
 */
#ifndef SOOM_SERVER_WAIT_H
#define SOOM_SERVER_WAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Starts the timer thread of this process; `unpark` is called (outside of
 * any lock) with the connection given to soom_wait_park() when its ticket
 * is woken. Returns SOOM_OK or SOOM_EINTERNAL (no thread). */
int soom_wait_setup(void (*unpark)(void *conn));

/* Stops the timer and frees every slot. No ticket may be in use. */
void soom_wait_teardown(void);

/* A new ticket that the timer wakes `timeout_ns` from now unless
 * something wakes it first; 0 when the waiting is not set up. */
uint64_t soom_wait_arm(uint64_t timeout_ns);

/* Wakes the ticket with `result`. Returns SOOM_OK, or SOOM_ENOTFOUND when
 * the ticket is stale or was woken already (the caller keeps `result`). */
int soom_wait_wake(uint64_t ticket, void *result, bool timed_out);

/* Parks an armed ticket's connection. Returns true when parked (unpark()
 * will be called on waking), false when it was woken already. */
bool soom_wait_park(uint64_t ticket, void *conn);

/* Blocks the calling thread until the ticket is woken. */
void soom_wait_block(uint64_t ticket);

/* The result of a woken ticket; retires the ticket. */
void soom_wait_take(uint64_t ticket, void **result, bool *timed_out);

/* Tickets armed and not yet taken (for tests and drain). */
size_t soom_wait_pending(void);

#endif
