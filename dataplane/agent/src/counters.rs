//! The agent's counters, logged as one `agent stats` line every `stats_interval`
//! (docs/HANDOFF.md lists them).

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Every counter of the agent, since start.
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
        pub struct Counters {
            $($(#[$doc])* pub $name: u64,)*
        }

        impl Counters {
            /// Every counter as `(name, value)`, in declaration order.
            pub fn fields(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name),)*]
            }
        }
    };
}

counters! {
    /// Frames received from the wire port.
    wire_rx,
    /// Frames received from the kernel port.
    kernel_rx,
    /// Wire frames passed to the kernel unchanged.
    bridged_to_kernel,
    /// Kernel frames passed to the wire unchanged.
    bridged_to_wire,
    /// Client segments of handed-off connections translated and passed to the kernel.
    translated_to_kernel,
    /// Kernel segments of handed-off connections translated and sent to the client.
    translated_to_client,
    /// Channel messages received (well-formed).
    channel_rx,
    /// Channel messages sent (acknowledgements, CLOSED and its resends).
    channel_tx,
    /// Channel datagrams that do not parse (dropped).
    channel_malformed,
    /// Channel datagrams from an address that is not one of `fronts` (dropped unread).
    channel_foreign,
    /// Channel messages of a type the agent does not expect (HEARTBEAT_ACK, HANDOFF_ACK,
    /// CLOSED from Splicer; dropped).
    channel_unexpected,
    /// HEARTBEATs answered.
    heartbeats,
    /// New HANDOFFs received.
    handoffs,
    /// Repeated HANDOFFs (same connection, same Splicer ISN) answered again.
    handoff_repeats,
    /// HANDOFFs for a connection the agent held with another Splicer ISN (the old one
    /// was forgotten).
    handoff_replaced,
    /// Handoffs the kernel accepted (HANDOFF_ACK ok).
    handoffs_ok,
    /// Handoffs the kernel refused with a RST (nothing listens).
    handoffs_refused,
    /// Handoffs whose replayed SYN the kernel did not answer within `replay_timeout`.
    handoffs_timeout,
    /// HANDOFFs refused because `max_connections` were held.
    handoffs_busy,
    /// HANDOFFs that made no sense (port 0, a request that does not fit a segment).
    handoffs_malformed,
    /// SYNs replayed into the kernel, first sends and resends.
    syn_replays,
    /// Microseconds from HANDOFFs to their HANDOFF_ACK ok (the replay into the
    /// kernel), summed: divided by `handoffs_ok`, the mean.
    replay_us_sum,
    /// The longest of them.
    replay_us_max,
    /// Connections whose both FINs were seen (CLOSED reason fin).
    closed_fin,
    /// Connections ended by a RST either way (CLOSED reason rst).
    closed_rst,
    /// Connections silent for `idle_timeout` (CLOSED reason idle; the kernel's side is
    /// reset).
    closed_idle,
    /// CLOSED notices Splicer acknowledged.
    closed_acked,
    /// CLOSED resends.
    closed_resends,
    /// CLOSED notices given up after their last resend.
    closed_given_up,
    /// Connections reset in the kernel because their Splicer restarted (new epoch).
    splicer_restart_resets,
    /// Connections reset in the kernel because their Splicer was silent for
    /// `splicer_dead_time` (dead, or the channel cut).
    splicer_silent_resets,
    /// Dropped: a frame from the wire whose source is the kernel's own MAC (our own
    /// transmission seen again).
    drop_own_echo,
    /// Dropped: a client segment arrived while its connection was still being replayed.
    drop_while_replaying,
    /// Dropped: a segment of a connection whose handoff failed or was closed.
    drop_after_failure,
    /// Dropped: a kernel segment during the replay other than its SYN-ACK or RST.
    drop_kernel_unexpected,
    /// Dropped: a segment that could not be translated (malformed headers or options).
    drop_untranslatable,
    /// Dropped: a frame for the kernel before its MAC was known.
    drop_no_kernel_mac,
    /// Dropped: the port's transmit queue was full.
    drop_tx_full,
    /// Dropped: no mbuf for a frame the agent built.
    drop_no_mbuf,
}

impl Counters {
    /// The `key=value` list of the stats line.
    pub fn line(&self) -> String {
        let mut s = String::new();
        for (k, v) in self.fields() {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(k);
            s.push('=');
            s.push_str(&v.to_string());
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_every_counter_once() {
        let c = Counters {
            handoffs_ok: 3,
            ..Counters::default()
        };
        let line = c.line();
        assert!(line.starts_with("wire_rx=0 "), "{line}");
        assert!(line.contains(" handoffs_ok=3 "), "{line}");
        assert_eq!(line.split(' ').count(), c.fields().len());
    }
}
