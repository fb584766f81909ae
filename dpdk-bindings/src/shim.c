/*
 * Real symbols for DPDK's `static inline` functions and thread-local values.
 *
 * The fast path of DPDK (rx/tx bursts, mbuf alloc/free, ring enqueue/dequeue) is written as
 * `static inline` functions in the headers, so the shared libraries export no symbol for them
 * and bindgen cannot bind them. This file compiles them once, with the same flags DPDK's own
 * applications use, and exports each as `splicer_shim_<name>`. Thread-local values
 * (rte_errno, the lcore id) need a function too: bindgen would turn them into plain statics.
 *
 * A few of the functions wrapped here are real exported symbols in DPDK 22.11
 * (rte_pktmbuf_free_bulk, rte_get_tsc_hz, rte_mempool_avail_count, rte_mempool_in_use_count):
 * they are reachable through the bindings too; the wrappers only give the fast path one prefix.
 */
#include <rte_config.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>

uint16_t splicer_shim_eth_rx_burst(uint16_t port_id, uint16_t queue_id,
                                   struct rte_mbuf **rx_pkts, uint16_t nb_pkts)
{
	return rte_eth_rx_burst(port_id, queue_id, rx_pkts, nb_pkts);
}

uint16_t splicer_shim_eth_tx_burst(uint16_t port_id, uint16_t queue_id,
                                   struct rte_mbuf **tx_pkts, uint16_t nb_pkts)
{
	return rte_eth_tx_burst(port_id, queue_id, tx_pkts, nb_pkts);
}

struct rte_mbuf *splicer_shim_pktmbuf_alloc(struct rte_mempool *mp)
{
	return rte_pktmbuf_alloc(mp);
}

int splicer_shim_pktmbuf_alloc_bulk(struct rte_mempool *mp, struct rte_mbuf **mbufs,
                                    unsigned int count)
{
	return rte_pktmbuf_alloc_bulk(mp, mbufs, count);
}

void splicer_shim_pktmbuf_free(struct rte_mbuf *m)
{
	rte_pktmbuf_free(m);
}

void splicer_shim_pktmbuf_free_bulk(struct rte_mbuf **mbufs, unsigned int count)
{
	rte_pktmbuf_free_bulk(mbufs, count);
}

char *splicer_shim_pktmbuf_mtod(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, char *);
}

char *splicer_shim_pktmbuf_append(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_append(m, len);
}

char *splicer_shim_pktmbuf_prepend(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_prepend(m, len);
}

char *splicer_shim_pktmbuf_adj(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_adj(m, len);
}

int splicer_shim_pktmbuf_trim(struct rte_mbuf *m, uint16_t len)
{
	return rte_pktmbuf_trim(m, len);
}

uint16_t splicer_shim_pktmbuf_headroom(const struct rte_mbuf *m)
{
	return rte_pktmbuf_headroom(m);
}

uint16_t splicer_shim_pktmbuf_tailroom(const struct rte_mbuf *m)
{
	return rte_pktmbuf_tailroom(m);
}

uint16_t splicer_shim_mbuf_refcnt_read(const struct rte_mbuf *m)
{
	return rte_mbuf_refcnt_read(m);
}

/* Updates one segment only; a whole chain needs splicer_shim_pktmbuf_refcnt_update. */
uint16_t splicer_shim_mbuf_refcnt_update(struct rte_mbuf *m, int16_t value)
{
	return rte_mbuf_refcnt_update(m, value);
}

/* Every segment of the chain: rte_pktmbuf_free drops one reference per segment, so a second
 * owner of a chain must hold one on each of them. */
void splicer_shim_pktmbuf_refcnt_update(struct rte_mbuf *m, int16_t value)
{
	rte_pktmbuf_refcnt_update(m, value);
}

unsigned int splicer_shim_ring_enqueue_burst(struct rte_ring *r, void *const *obj_table,
                                             unsigned int n, unsigned int *free_space)
{
	return rte_ring_enqueue_burst(r, obj_table, n, free_space);
}

unsigned int splicer_shim_ring_dequeue_burst(struct rte_ring *r, void **obj_table,
                                             unsigned int n, unsigned int *available)
{
	return rte_ring_dequeue_burst(r, obj_table, n, available);
}

unsigned int splicer_shim_ring_count(const struct rte_ring *r)
{
	return rte_ring_count(r);
}

unsigned int splicer_shim_lcore_id(void)
{
	return rte_lcore_id();
}

int splicer_shim_errno(void)
{
	return rte_errno;
}

void splicer_shim_set_errno(int value)
{
	rte_errno = value;
}

uint64_t splicer_shim_rdtsc(void)
{
	return rte_rdtsc();
}

uint64_t splicer_shim_get_tsc_hz(void)
{
	return rte_get_tsc_hz();
}

void splicer_shim_pause(void)
{
	rte_pause();
}

unsigned int splicer_shim_mempool_avail_count(const struct rte_mempool *mp)
{
	return rte_mempool_avail_count(mp);
}

unsigned int splicer_shim_mempool_in_use_count(const struct rte_mempool *mp)
{
	return rte_mempool_in_use_count(mp);
}
