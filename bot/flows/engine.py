"""The conversation engine: routes each input to its journey and keeps the state.

One call per input: load the account (its link, language, journey state and staff role),
decide who may act and on whose record, let the journey answer, store the next state. The
engine knows no channel: every adapter calls `Conversation.handle`.

What the engine decides, so journeys do not: which journey an input belongs to (the registry),
whether the account meets the journey's `requires` (one refusal per requirement), the record
it acts on (`turn.subject`), whether a button is stale or a second tap on one already handled,
and what a PIN channel's session may reach before it signs in (bot.flows.pin).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, replace

from bot.flows import actions, pin, registry
from bot.flows.actions import Open, Stale, Tap
from bot.flows.journeys import JOURNEYS_LOADED
from bot.flows.menu import menu_reply, staff_home
from bot.flows.registry import Journey, Requires, Subject
from bot.flows.replies import Input, InputKind, Notice, Reply, Step, encoded
from bot.flows.turn import ChannelInfo, StaleOption, Turn
from bot.flows.who import Who, who_is
from core import families
from core.db import Database
from core.families import Dependent
from core.i18n import N_, today_hanoi, translator
from core.identity import accounts, subjects
from core.identity.accounts import Account, JourneyState
from core.staff.model import StaffRole
from core.staff.service import Staff, active_staff, note_activity

log = logging.getLogger(__name__)
assert JOURNEYS_LOADED  # the journeys registered themselves on import

# Two taps of one navigation button within this long are one tap (a state-changing button
# is never applied twice, however late: `Action.once`).
DOUBLE_TAP_SECONDS = 10.0
TAPS_KEPT = 24

# One refusal per requirement, whatever the journey.
REFUSALS = {
    Requires.CITIZEN: N_("Please verify your identity first."),
    Requires.NOT_LINKED: N_("You are already verified."),
    Requires.RECEPTIONIST: N_("This is for registered reception staff."),
    Requires.VOLUNTEER: N_("This is for registered ward volunteers."),
    Requires.STATION: N_("This is for the staff of a ward health station."),
    Requires.DESK: N_("This is for staff who work in the web console."),
}


@dataclass(frozen=True)
class Delivery:
    """A notice for another person of the same channel, written in their language."""

    external_id: str
    reply: Reply


@dataclass(frozen=True)
class Answer:
    """What to send back for one input, in the person's language, and notices for others."""

    replies: tuple[Reply, ...]
    notice: str | None
    locale: str
    deliveries: tuple[Delivery, ...] = ()
    signed_in: bool = False  # the person proved who they are for this session (PIN channels)
    # The message that shows the account's check-in code, as the channel named it, when a reply
    # replaces that code (`Reply.replaces_code`): the message to change.
    code_message: str | None = None
    # The journey now waits for typed text (an ID, a PIN, part of a name): where options are typed
    # as numbers, anything else typed is then an option that is not on the screen.
    awaits_text: bool = False


class Conversation:
    def __init__(self, db: Database, channel: str | ChannelInfo) -> None:
        self.db = db
        self.info = channel if isinstance(channel, ChannelInfo) else ChannelInfo(channel)
        self.channel = self.info.name

    async def account(self, external_id: str) -> Account:
        found = await self.db.read(accounts.find_account, self.channel, external_id)
        if found is None:
            found = await self.db.write(accounts.open_account, self.channel, external_id)
        return found

    async def handle(self, external_id: str, given: Input, *, signed_in: bool = True,
                     fresh: bool = False) -> Answer:
        """Answers one input. `signed_in=False`: a PIN channel's session before its sign-in;
        `fresh`: a new session that starts clean, whatever journey the last one left."""
        started = time.perf_counter()
        # Two transactions on PostgreSQL (`Database.atomic`): who is talking, then the answer with
        # everything it reads and writes (a card read, its access event, the journey's state).
        account, staff = await self.db.atomic(lambda: self._who(external_id))
        if fresh:
            account = replace(account, state=JourneyState())
        turn = Turn(self.db, account, given, translator(account.locale), self.info, staff,
                    who_is(account, staff))
        try:
            step, deliveries = await self.db.atomic(lambda: self._answer(turn, signed_in, fresh))
        except Exception:
            # Nothing of the failed answer was kept (its transaction rolled back). The person gets
            # an answer and a reference; the details go to the log only.
            reference = secrets.token_hex(3).upper()
            log.exception("input failed (reference %s, account %s, %s)", reference, account.id, given.kind)
            text = turn._("Sorry, something went wrong on our side. Please try again in a moment. "
                          "If it keeps happening, tell the health station this reference: {reference}.",
                          reference=reference)
            step, deliveries = Step((Reply(text, close_keyboard=True),), JourneyState()), ()
            await self._store(account, step, None, fresh)
        log.debug("input %s handled: flow %s -> %s/%s in %.1f ms", given.kind, account.state.flow,
                  step.state.flow, step.state.step, (time.perf_counter() - started) * 1000)
        replaced = account.qr_message if any(r.replaces_code for r in step.replies) else None
        return Answer(tuple(encoded(reply) for reply in step.replies), step.notice,
                      step.locale or turn.t.locale, deliveries, step.signed_in, replaced,
                      self._takes_text(step.state))

    async def _who(self, external_id: str) -> tuple[Account, Staff | None]:
        account = await self.account(external_id)
        staff = await active_staff(self.db, account.id)
        if staff is not None:
            await note_activity(self.db, staff)  # the team page's "last active"
        return account, staff

    async def _answer(self, turn: Turn, signed_in: bool, fresh: bool) -> tuple[Step, tuple[Delivery, ...]]:
        """The journey's step, its state stored and the notices it gives others addressed."""
        turn, lost = await self._household(turn)
        if lost and (signed_in or not self.info.pin_sessions):  # said only to whoever signed in
            # Whatever this input meant, it meant it for a book no longer open to this account: the
            # journey in progress stops here rather than go on with the person's own record.
            text = turn._("You can no longer open the book you had open (the right was withdrawn, "
                          "expired or ended at 18, or the person's record changed). Your own book is "
                          "open again.")
            step, tap = Step((menu_reply(turn, text),), JourneyState()), None
        else:
            step, tap = await self._dispatch(turn, signed_in)
        await self._store(turn.account, step, tap, fresh)
        return step, (await self._deliveries(step.notify) if step.notify else ())

    async def _household(self, turn: Turn) -> tuple[Turn, bool]:
        """The books the account's citizen may open for others, and the one open now, checked again
        on every input: a withdrawal or an 18th birthday takes effect at the next one. True: the
        book that was open may no longer be, and the account is back on its own."""
        account = turn.account
        if account.citizen_id is None or not (account.has_family or account.acting_for):
            return turn, False
        household = tuple(await self.db.read(families.dependents, account.citizen_id, today_hanoi()))
        if turn.staff is not None and turn.staff.role is StaffRole.VOLUNTEER:
            # A volunteer never becomes a proxy: on the account that does a ward's work, residents
            # are reached only through the volunteer's journeys, which never show health data.
            household = tuple(d for d in household if d.right.capacity is not families.Capacity.PROXY)
        acting = next((d for d in household if d.citizen_id == account.acting_for), None)
        lost = account.acting_for is not None and acting is None
        if lost:
            await self.db.write(accounts.open_book_of, account.id, None)
        return replace(turn, household=household, acting=acting), lost

    async def _store(self, account: Account, step: Step, tap: Tap | None, fresh: bool) -> None:
        taps = self._taps(account, tap)
        if step.state != account.state or fresh or taps is not None:
            saved = await self.db.write(accounts.save_state, account, step.state, taps)
            if not saved:
                log.warning("conversation of account %s moved on elsewhere; state not stored", account.id)

    async def showing_code(self, external_id: str, message_id: str) -> None:
        """The message that shows the account's current check-in code from now on, as the channel
        names it: the one a later `Reply.replaces_code` changes (in the database, for every worker)."""
        await self.db.write(accounts.remember_qr_message, self.channel, external_id, message_id)

    # --- Routing ---------------------------------------------------------------------------------

    async def _dispatch(self, turn: Turn, signed_in: bool) -> tuple[Step, Tap | None]:
        given = turn.input
        if given.kind is InputKind.OPTION:
            return await self._tap(turn, given.option or "", signed_in)
        if given.kind is InputKind.COMMAND:
            return await self._command(turn, given.command or "", given.payload, signed_in), None
        # Text or a contact: the journey in progress asked for it.
        journey = registry.named(turn.state.flow or "")
        if journey is None or not self._takes_text(turn.state):
            return (await self._gate(turn, None, signed_in)) or self._not_understood(turn), None
        return await self._run(turn, journey, signed_in, lambda t: journey.flow.on_input(t),
                               starting=False), None

    @staticmethod
    def _takes_text(state: JourneyState) -> bool:
        """Whether text typed next goes to the journey in progress (it asked for it)."""
        journey = registry.named(state.flow or "")
        return journey is not None and getattr(journey.flow, "on_input", None) is not None

    async def _tap(self, turn: Turn, data: str, signed_in: bool) -> tuple[Step, Tap | None]:
        try:
            tap = actions.decode(data)
        except Stale:
            return (await self._gate(turn, None, signed_in)) or self._stale(turn), None
        if self._repeated(turn.account, tap):  # a second tap: the first one's answer stands
            return Step((), turn.state, notice=turn._("Already done.")), None
        action = tap.action
        if isinstance(action, Open):
            journey = registry.named(action.name)
            if journey is None:
                return self._stale(turn), None
            return await self._run(turn, journey, signed_in, lambda t: journey.flow.start(t),
                                   starting=True), tap
        journey = registry.named(action.journey)
        if journey is None:
            return self._stale(turn), None
        if action.in_journey and turn.state.flow != journey.name:
            return self._stale(turn), None  # its journey is over
        if action.answers_step and turn.state.step != action.step:
            return self._stale(turn), None  # it answers a question that is no longer asked
        return await self._run(turn, journey, signed_in, lambda t: journey.flow.on_action(t, action),
                               starting=False), tap

    async def _command(self, turn: Turn, command: str, payload: str, signed_in: bool) -> Step:
        if command == "start":
            linked = registry.by_deep_link(payload)
            if linked is not None:
                journey, rest = linked
                return await self._run(turn, journey, signed_in, lambda t: journey.flow.start(t, rest),
                                       starting=True, requires=journey.deep_link_requires)
            return (await self._gate(turn, None, signed_in)) or await self._home(turn)
        if command == "cancel":
            gate = await self._gate(turn, None, signed_in)
            if gate is not None:
                return gate
            text = turn._("Stopped. Nothing was saved.") if turn.state.flow else \
                turn._("There is nothing to stop.")
            return Step((Reply(text, close_keyboard=True), menu_reply(turn)))
        journey = registry.by_command(command)
        if journey is None:
            return (await self._gate(turn, None, signed_in)) or self._not_understood(turn)
        return await self._run(turn, journey, signed_in, lambda t: journey.flow.start(t, payload),
                               starting=True)

    async def _run(self, turn: Turn, journey: Journey, signed_in: bool, call, *, starting: bool,
                   requires: Requires | None = None) -> Step:
        """The journey's answer, once the PIN rule, its requirement and its subject allow it."""
        gate = await self._gate(turn, journey, signed_in)
        if gate is not None:
            return gate
        needed = journey.requires if requires is None else requires
        # "Not linked" guards only the start (a forgotten PIN walks verification again, linked).
        if (starting or needed is not Requires.NOT_LINKED) and not needed.met_by(turn.who):
            return self._refuse(turn, needed)
        # The dependent's book, when one is open and the journey works on a book (not on the account).
        acting = turn.acting if journey.subject is Subject.OWN and journey.power is not None else None
        if acting is not None and journey.power not in acting.right.powers:
            return Step((menu_reply(turn, turn._("With {name}'s book you may not do this. Open your own "
                                                 "book from the menu to do it for yourself.",
                                                 name=acting.full_name)),), JourneyState())
        turn = replace(turn, subject=self._subject(turn, journey, acting), actor=turn.account.citizen_id)
        try:
            step = await call(turn)
        except StaleOption:
            return self._stale(turn)
        if acting is None:
            return step
        # Every screen of a journey on someone else's book says whose book it is (the menu says it
        # in its own words: see menu_reply).
        if step.replies and step.replies[0].text.startswith("📂"):
            return step
        return _said_first(step, turn._("📂 {name}'s book", name=acting.full_name))

    @staticmethod
    def _subject(turn: Turn, journey: Journey, acting: Dependent | None) -> int | None:
        if journey.subject is Subject.OWN:
            return acting.citizen_id if acting is not None else subjects.own_record(turn.account)
        if journey.subject is Subject.FOUND:  # the resident a journey looked up, kept in its state
            found = turn.state.data.get("subject") if turn.state.flow == journey.name else None
            return found if isinstance(found, int) else None
        return None

    async def _gate(self, turn: Turn, journey: Journey | None, signed_in: bool) -> Step | None:
        return await pin.gate(turn, journey, signed_in)

    # --- Answers the engine gives itself ---------------------------------------------------------

    async def _home(self, turn: Turn) -> Step:
        """`/start` with nothing after it: the menu, a staff member's own work, or verification."""
        if Who.CITIZEN in turn.who:
            return Step((menu_reply(turn),))
        if turn.staff is not None:
            return staff_home(turn, turn.staff)
        verify = registry.named("verify")
        assert verify is not None
        return await verify.flow.start(turn)

    def _refuse(self, turn: Turn, needed: Requires) -> Step:
        if needed is Requires.CITIZEN and turn.staff is not None:  # a work account: its own work
            return staff_home(turn, turn.staff)
        return Step((menu_reply(turn, turn.t.gettext(REFUSALS[needed])),), JourneyState())

    def _stale(self, turn: Turn) -> Step:
        text = turn._("That button is from an earlier message and no longer applies. "
                      "Here is the menu.")
        return Step((menu_reply(turn, text),), turn.state)  # said once: in the message, no toast too

    def _not_understood(self, turn: Turn) -> Step:
        if turn.staff is not None:  # a receptionist or a volunteer: their own work, not a citizen's
            step = staff_home(turn, turn.staff, turn._("Sorry, I did not understand that."))
            return replace(step, state=turn.state)
        text = turn._("Sorry, I did not understand that. Please choose from the menu.")
        return Step((menu_reply(turn, text),), turn.state)

    # --- Taps and notices ----------------------------------------------------------------------------

    @staticmethod
    def _repeated(account: Account, tap: Tap) -> bool:
        when = account.taps.get(tap.key)
        return when is not None and (tap.action.once or time.time() - when < DOUBLE_TAP_SECONDS)

    @staticmethod
    def _taps(account: Account, tap: Tap | None) -> dict[str, float] | None:
        """The buttons lately pressed, with this one; None when nothing changes."""
        if tap is None:
            return None
        kept = sorted({**account.taps, tap.key: time.time()}.items(), key=lambda item: item[1])
        return dict(kept[-TAPS_KEPT:])

    async def _deliveries(self, notices: tuple[Notice, ...]) -> tuple[Delivery, ...]:
        out = []
        for notice in notices:
            for external_id, locale in await self.db.read(accounts.linked_accounts, self.channel,
                                                          notice.citizen_id):
                out.append(Delivery(external_id, encoded(notice.write(translator(locale)))))
        return tuple(out)


def _said_first(step: Step, text: str) -> Step:
    """The step with `text` above its first message (a message of its own when it has none)."""
    if not step.replies:
        return replace(step, replies=(Reply(text),))
    first, *rest = step.replies
    return replace(step, replies=(replace(first, text=f"{text}\n\n{first.text}"), *rest))


__all__ = ["Answer", "Conversation", "Delivery"]
