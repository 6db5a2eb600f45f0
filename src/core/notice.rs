//! The codes of the notices the core hands the page (the `code` of an `error` emitter event):
//! a closed set, each with its stable name. Pure. The shim lists the same names, by number,
//! in `js/codes.js` (`NOTICES`); `tests/it/boundary.rs` holds the two together.

/// What a notice is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum NoticeCode {
    /// The delivery queue reached its bound: the oldest waiting events were dropped.
    QueueFull = 0,
    /// Events older than the API accepts were dropped.
    EventExpired = 1,
    /// The API refused events, or retries ran out: they were dropped.
    DeliveryFailure = 2,
    /// An event over the API's size limit was refused at the call.
    EventTooLarge = 3,
    /// An option the API would refuse was dropped; the call went on without it.
    InvalidOption = 4,
    /// A call was refused (an id too long to store).
    InvalidCall = 5,
}

impl NoticeCode {
    /// The stable name the page sees (`error` event `code`).
    #[inline(always)]
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeCode::QueueFull => "queue_full",
            NoticeCode::EventExpired => "event_expired",
            NoticeCode::DeliveryFailure => "delivery_failure",
            NoticeCode::EventTooLarge => "event_too_large",
            NoticeCode::InvalidOption => "invalid_option",
            NoticeCode::InvalidCall => "invalid_call",
        }
    }

    /// The code with this number (`None`: none).
    pub fn from_u8(code: u8) -> Option<NoticeCode> {
        Some(match code {
            0 => NoticeCode::QueueFull,
            1 => NoticeCode::EventExpired,
            2 => NoticeCode::DeliveryFailure,
            3 => NoticeCode::EventTooLarge,
            4 => NoticeCode::InvalidOption,
            5 => NoticeCode::InvalidCall,
            _ => return None,
        })
    }
}
