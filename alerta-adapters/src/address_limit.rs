//! How many connections one client address may hold open at once, shared by the listeners.
//!
//! A host that opens thousands of sockets and sends nothing would otherwise take the server's
//! file descriptors from everyone else. Each accepted connection takes a slot of its peer's
//! address and gives it back when dropped; when the address holds all of its slots, the new
//! connection is refused (closed at once) before anything is read from it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// Open connections counted per client address, up to a limit each.
#[derive(Clone, Debug)]
pub struct AddressLimit {
    max_per_address: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl AddressLimit {
    /// At most `max_per_address` open connections per address; 0 means no limit, for a
    /// server behind a proxy or load balancer whose connections all come from one address.
    pub fn new(max_per_address: usize) -> Self {
        Self {
            max_per_address,
            open: Arc::default(),
        }
    }

    /// A slot for one more connection from `address`, or `None` when it holds all of its
    /// slots already.
    pub fn try_acquire(&self, address: IpAddr) -> Option<AddressSlot> {
        let mut open = lock(&self.open);
        let count = open.entry(address).or_insert(0);
        if self.max_per_address != 0 && *count >= self.max_per_address {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            address,
            open: Arc::clone(&self.open),
        })
    }

    /// How many connections `address` holds open now.
    pub fn open(&self, address: IpAddr) -> usize {
        lock(&self.open).get(&address).copied().unwrap_or(0)
    }
}

/// One open connection of an address; dropping it gives the slot back.
#[derive(Debug)]
pub struct AddressSlot {
    address: IpAddr,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = lock(&self.open);
        if let Some(count) = open.get_mut(&self.address) {
            *count = count.saturating_sub(1);
            // Addresses with nothing open are forgotten, so the map only holds live ones.
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// The counts stay consistent even if a holder panicked: each change is one statement.
fn lock(open: &Mutex<HashMap<IpAddr, usize>>) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
    open.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_gets_its_slots_and_no_more_and_others_are_not_affected() {
        let limit = AddressLimit::new(2);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let first = limit.try_acquire(a).expect("first");
        let second = limit.try_acquire(a).expect("second");
        assert!(limit.try_acquire(a).is_none(), "the third is refused");
        let other = limit.try_acquire(b).expect("another address");
        assert_eq!((limit.open(a), limit.open(b)), (2, 1));
        drop(first);
        let again = limit
            .try_acquire(a)
            .expect("a slot given back is free again");
        drop((second, again, other));
        assert_eq!((limit.open(a), limit.open(b)), (0, 0));
        assert!(
            lock(&limit.open).is_empty(),
            "nothing kept for closed addresses"
        );
    }

    #[test]
    fn zero_means_no_limit() {
        let limit = AddressLimit::new(0);
        let a: IpAddr = [10, 0, 0, 1].into();
        let slots: Vec<_> = (0..1000).map(|_| limit.try_acquire(a).unwrap()).collect();
        assert_eq!(limit.open(a), 1000);
        drop(slots);
        assert_eq!(limit.open(a), 0);
    }
}
