//! The `tracing-subscriber` layer: records the program's own spans and events.

use std::fmt::Write as _;

use hb_format::EventKind;
use tracing::field::{Field, Visit};
use tracing::span::Id;
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use crate::rt;

/// A [`Layer`] that records the program's `tracing` spans and events into the hb trace.
///
/// Span enters and exits become [`EventKind::SpanEnter`] / [`EventKind::SpanExit`] on the
/// lane of the task that entered the span; events become [`EventKind::UserEvent`] marks
/// whose message is the event's `message` field followed by its other fields
/// (`key=value`). Get one from [`crate::layer`], [`crate::layer_from_env`] or
/// [`crate::Builder::layer`]; creating it starts the recording. hb's own events are
/// written straight to per-thread buffers: they never pass through `tracing`, so the
/// program's other layers never see them.
///
/// Dropping the layer does not end the recording (a subscriber installed with `init()`
/// is never dropped): the trace is completed by [`crate::finish`], a
/// [`crate::FlushGuard`], or at process exit.
#[derive(Debug, Clone)]
pub struct HbLayer {
    _private: (),
}

impl HbLayer {
    pub(crate) fn new() -> Self {
        HbLayer { _private: () }
    }
}

impl<S> Layer<S> for HbLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if !rt::on() || !rt::user_events() {
            return;
        }
        if let Some(meta) = ctx.metadata(id) {
            rt::emit_span_enter(meta.name(), id.into_u64(), meta.file(), meta.line());
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if !rt::on() || !rt::user_events() {
            return;
        }
        let (file, line) = ctx.metadata(id).map_or((None, None), |m| (m.file(), m.line()));
        rt::emit_at(file, line, EventKind::SpanExit { span: id.into_u64() });
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if !rt::on() || !rt::user_events() {
            return;
        }
        let mut v = MessageVisitor::default();
        event.record(&mut v);
        let text = if v.fields.is_empty() {
            v.message
        } else if v.message.is_empty() {
            v.fields
        } else {
            format!("{} {}", v.message, v.fields)
        };
        let Some(message) = rt::str_id(&text) else { return };
        let meta = event.metadata();
        rt::emit_at(meta.file(), meta.line(), EventKind::UserEvent { message });
    }
}

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.field(field, format_args!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.field(field, format_args!("{value:?}"));
        }
    }
}

impl MessageVisitor {
    fn field(&mut self, field: &Field, value: std::fmt::Arguments<'_>) {
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
        let _ = write!(self.fields, "{}={}", field.name(), value);
    }
}
