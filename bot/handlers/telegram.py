"""The Telegram adapter: updates in, flow replies out. No business rules here.

Private chats only: health data must never land in a group. In a group or a
channel the bot says so, shows nothing, and leaves.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace

from telegram import Chat, ChatMemberUpdated, InputMediaPhoto, Message, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler, ChatMemberHandler, ContextTypes, MessageHandler
from telegram.ext import filters as tg_filters

from bot.flows.engine import Answer, Conversation
from bot.flows.qr import replaced_png
from bot.flows.replies import Input, Reply
from bot.flows.turn import ChannelInfo
from bot.handlers.render import Outgoing, outgoing
from core.i18n import N_, translator

log = logging.getLogger(__name__)
CHANNEL = "telegram"
# Pictures, messages first, free typing, buttons and /commands; long replies are split by the
# renderer, not paged; the account is the Telegram user, so no PIN. The deep link base (the
# bot's t.me address) is learnt from getMe at the first update.
CHANNEL_INFO = ChannelInfo(CHANNEL, None, images=True, push=True, typing=True, buttons=True, commands=True,
                           edits=True, screen=None, pin_sessions=False)

PRIVATE_ONLY = N_("I only work in a private chat, to keep health data private. Please write to me "
                  "directly. I am leaving this group.")
FAILED = N_("Sorry, something went wrong on our side. Please try again in a moment. If it keeps "
            "happening, tell the health station this reference: {reference}.")


def _both_languages(message: str, **params: object) -> str:
    """Vietnamese first, English second: used where we do not know the person's language."""
    return f"{translator('vi').text(message, **params)}\n\n{translator('en').text(message, **params)}"


class TelegramAdapter:
    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation

    def _know_the_bot(self, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The deep-link base needs the bot's username, known once the Application is initialized."""
        if self.conversation.info.deep_link_base is None:
            self.conversation.info = replace(self.conversation.info,
                                             deep_link_base=f"https://t.me/{context.bot.username}?start=")

    def install(self, application: Application) -> None:
        private = tg_filters.ChatType.PRIVATE
        application.add_handler(ChatMemberHandler(self.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        application.add_handler(MessageHandler(private & ~tg_filters.UpdateType.EDITED, self.on_message))
        application.add_handler(CallbackQueryHandler(self.on_option))
        application.add_handler(MessageHandler(~private, self.on_group))
        application.add_error_handler(self.on_error)

    # --- Input --------------------------------------------------------------------------

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        user = update.effective_user
        if message is None or user is None:
            return
        if message.contact is not None:
            given = Input.of_contact(message.contact.phone_number,
                                     own=message.contact.user_id == user.id)
        else:  # a sticker, a photo or a voice note is "not understood", never silence
            given = Input.of_text(message.text or "")
        self._know_the_bot(context)
        answer = await self.conversation.handle(str(user.id), given)
        await self.send(context, message.chat_id, answer, str(user.id))

    async def on_option(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        chat = query.message.chat if query.message is not None else None
        if chat is None or chat.type != Chat.PRIVATE:
            await query.answer()
            return
        self._know_the_bot(context)
        external_id = str(query.from_user.id)
        answer = await self.conversation.handle(external_id, Input.of_option(query.data or ""))
        try:  # the spinner on the button stops only when the query is answered
            await query.answer(answer.notice)
        except BadRequest as error:  # answered too late (a slow network): the reply still goes
            log.info("callback answer refused: %s", error.message)
        editable = query.message if isinstance(query.message, Message) else None
        await self.send(context, chat.id, answer, external_id, edit=editable)

    async def on_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is None or chat.type == Chat.PRIVATE:
            return
        await self._leave(context, chat)

    async def on_membership(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        change: ChatMemberUpdated | None = update.my_chat_member
        if change is None or change.chat.type == Chat.PRIVATE:
            return
        joined = change.new_chat_member.status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)
        if joined:
            await self._leave(context, change.chat)

    async def _leave(self, context: ContextTypes.DEFAULT_TYPE, chat: Chat) -> None:
        log.info("refused a %s chat; leaving it", chat.type)
        try:
            if chat.type != Chat.CHANNEL:
                await context.bot.send_message(chat.id, _both_languages(PRIVATE_ONLY))
            await context.bot.leave_chat(chat.id)
        except Forbidden:
            pass  # already removed

    # --- Output -------------------------------------------------------------------------

    async def send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, answer: Answer,
                   external_id: str, edit: Message | None = None) -> None:
        for reply in answer.replies:
            if reply.replaces_code is not None and answer.code_message is not None:
                # The message of the code this one replaces no longer holds: it says so.
                await self._retire(context, chat_id, int(answer.code_message), reply.replaces_code)
                if edit is not None and edit.message_id == int(answer.code_message):
                    edit = None
            if reply.new_message:
                edit = None
            shown: Message | None = None
            for message in outgoing(reply):
                if edit is not None and await self._edit(edit, message):
                    shown = shown or edit
                else:
                    sent = await self._send(context, chat_id, message)
                    shown = shown or sent
                edit = None  # only the first message may take the place of the pressed one
            if reply.replaces_code is not None and shown is not None:
                await self.conversation.showing_code(external_id, str(shown.message_id))
        for delivery in answer.deliveries:  # someone else's notice: their failure is not this chat's
            try:
                for message in outgoing(delivery.reply):
                    await self._send(context, int(delivery.external_id), message)
            except TelegramError as error:
                log.warning("a notice could not be delivered (%s)", type(error).__name__)

    async def _edit(self, original: Message, message: Outgoing) -> bool:
        """Replaces the message whose button was pressed, when the reply can take its place."""
        if message.photo is not None or not message.inline or original.photo:
            return False
        try:
            await original.edit_text(message.html, parse_mode=ParseMode.HTML, reply_markup=message.markup)
        except BadRequest as error:
            if "not modified" in error.message:  # a second tap on the same button
                return True
            log.info("could not edit a message (%s); sending a new one", error.message)
            return False
        return True

    async def _retire(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, message_id: int,
                      text: str) -> None:
        """An earlier code's message says what replaced it, its buttons gone (an edit without a
        keyboard removes it), and its picture crossed out so that nobody scans it by mistake."""
        (message,) = outgoing(Reply(text))
        media = InputMediaPhoto(replaced_png(), caption=message.html, parse_mode=ParseMode.HTML)
        try:
            await context.bot.edit_message_media(media, chat_id=chat_id, message_id=message_id)
        except BadRequest as error:  # too old to edit, or deleted: the new message still goes
            log.info("could not mark a message as replaced (%s)", error.message)

    async def _send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, message: Outgoing) -> Message:
        if message.photo is not None:
            return await context.bot.send_photo(chat_id, message.photo, caption=message.html,
                                                parse_mode=ParseMode.HTML, reply_markup=message.markup)
        return await context.bot.send_message(chat_id, message.html, parse_mode=ParseMode.HTML,
                                              reply_markup=message.markup)

    # --- Failures -----------------------------------------------------------------------

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        reference = secrets.token_hex(3).upper()
        error = context.error
        # The type and reference only: an exception's text may carry what a person typed.
        log.error("update failed (reference %s): %s", reference, type(error).__name__,
                  exc_info=(type(error), error, error.__traceback__) if error else None)
        if not isinstance(update, Update) or update.effective_chat is None:
            return
        if update.effective_chat.type != Chat.PRIVATE:
            return
        try:
            await context.bot.send_message(update.effective_chat.id,
                                           _both_languages(FAILED, reference=reference))
        except TelegramError:
            log.error("could not tell the person about failure %s", reference)
