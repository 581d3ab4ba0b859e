"""The Telegram bot: `build_application` is the one place the Application is built.

Handlers are thin: parse the update, call `Conversation` or, for staff, `CorpusAdmin` (off the
event loop: encoding, FAISS and SQLite block), render with `bot.render`, send. Button callback_data
refers to the logged question by id ("f:<qid>:<hit>", "m:<qid>", "fb:<qid>:+1") or to a pending
upload by a short token ("adm:ok:<token>"), never to document ids, so it stays within Telegram's
64 bytes however long document ids become; an alert's buttons refer to a stored change ("al:f:<id>").

Alerts (bot/alerts.py): a staff publish queues them and says how many subscribers will hear; an AlertSender task,
started in post_init and stopped in post_shutdown, sends them with `send_alert`, off the question path.

Admin handlers that publish (/reload, /rollback, 确认, an upload) do not block (block=False) and
run their work in a thread: owners' questions go on being answered from the old corpus version
until the switch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from html import escape
from pathlib import Path

from telegram import (
    Bot,
    BotCommandScopeChat,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from policy_corpus.config import Config
from policy_corpus.errors import CorpusError
from policy_corpus.model import ChangeAction

from .admin import CorpusAdmin, Refreshed
from .alert_sender import AlertSender, Delivery, Outcome
from .alerts import Alerts, Notified
from .assistant import Assistant
from .conversation import Asked, Conversation
from .errors import ExpiredError, UsageError
from .questionlog import QUESTIONS_FILE, QuestionLog, Stats
from .ratelimit import RateLimiter
from .render import (
    Html,
    admin_help_html,
    alert_html,
    answer_html,
    article_html,
    change_diff_html,
    corpus_html,
    diff_html,
    docs_html,
    format_help,
    format_welcome,
    more_html,
    notified_html,
    preview_html,
    refreshed_html,
    removal_html,
    size_html,
    stats_html,
    stored_article_html,
    subscriptions_html,
)
from .size_chat import SizeAsk, SizeReply
from .stats_chart import render_chart
from .subscriptions import SUBSCRIPTIONS_FILE, ArticleChange, Subscriptions
from .telegram_split import split_message
from .texts import (
    ADMIN_COMMANDS,
    ALREADY_SUBSCRIBED_TEXT,
    BUTTON_EXPIRED_TEXT,
    CANCELLED_TEXT,
    COMMANDS,
    ERROR_TEXT,
    EXAMPLE_QUESTIONS,
    FORGET_ALERTS_DONE_TEXT,
    FORGET_ALERTS_NOTE,
    FORGET_ASK_TEXT,
    FORGET_DONE_TEXT,
    FORGET_KEPT_TEXT,
    NEW_TOPIC_TEXT,
    NEW_TOPIC_WORDS,
    NOT_ADMIN_TEXT,
    OCR_DONE_TEXT,
    OCR_PROGRESS_TEXT,
    PRIVACY_SUBSCRIPTIONS_TEXT,
    PUBLISHING_TEXT,
    REMOVE_USAGE,
    SLOW_DOWN_TEXT,
    STATS_CHART_CAPTION,
    STATS_CHART_FAILED_TEXT,
    STATS_USAGE,
    SUBSCRIBE_CHOOSE_TEXT,
    SUBSCRIBE_PRIVATE_TEXT,
    SUBSCRIBED_TEXT,
    TOO_LONG_TEXT,
    TOPICS,
    UNKNOWN_COMMAND_TEXT,
    UNSUBSCRIBE_ALL_LABEL,
    UNSUBSCRIBE_CHOOSE_TEXT,
    UNSUBSCRIBED_ALL_TEXT,
    UNSUBSCRIBED_TEXT,
    error_text,
    privacy_text,
)

logger = logging.getLogger(__name__)

CONVERSATION, LIMITER, ADMIN = "conversation", "rate_limiter", "admin"
BUTTON_LIMITER, STAFF_LIMITER = "button_rate_limiter", "staff_rate_limiter"
RETENTION_DAYS = "retention_days"
ALERTS, ALERT_SENDER = "alerts", "alert_sender"
MAX_MESSAGES = 3  # messages one reply may take
BUTTON_RATE = 3  # button taps allowed per question allowed
STAFF_RATE = 10  # staff messages and uploads allowed per owner question allowed
CONCURRENT_UPDATES = 8  # one owner's slow question must not hold up everyone else's
STATS_DAYS, MAX_STATS_DAYS = 7, 365
VOTE_LABELS = {1: "👍", -1: "👎"}

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


class MessageRateLimiter(AIORateLimiter):
    """Telegram's flood limits (~30 messages/s, 1/s per chat) are on messages: "typing…", callback answers and
    polling pass without queueing behind them."""

    UNLIMITED = frozenset({"sendChatAction", "answerCallbackQuery", "getUpdates", "getMe", "getFile"})

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        if endpoint in self.UNLIMITED:
            return await callback(*args, **kwargs)
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)


def build_application(
    config: Config,
    assistant: Assistant,
    token: str,
    *,
    question_log: QuestionLog | None = None,
    limiter: RateLimiter | None = None,
    admin: CorpusAdmin | None = None,
) -> Application:
    """The bot, pointed at the configured Bot API server, with every handler registered."""
    settings = config.telegram
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .concurrent_updates(CONCURRENT_UPDATES)
        # outgoing flood control: Telegram's ~30 messages/s overall, retrying once on 429 RetryAfter
        .rate_limiter(MessageRateLimiter(max_retries=1))
        .post_init(start_up)
        .post_shutdown(shut_down)
        .build()
    )
    log = question_log or QuestionLog(config.data_path / QUESTIONS_FILE, config.privacy.retention_days)
    application.bot_data[RETENTION_DAYS] = config.privacy.retention_days
    application.bot_data[CONVERSATION] = Conversation(assistant, log)
    application.bot_data[LIMITER] = limiter or RateLimiter(settings.rate_limit_count, settings.rate_limit_seconds)
    # taps on an answer's buttons (全文, 更多, 👍) come in bursts after a question: a limit of their own, wider
    application.bot_data[BUTTON_LIMITER] = RateLimiter(
        BUTTON_RATE * settings.rate_limit_count, settings.rate_limit_seconds
    )
    # staff upload batches: their own, higher limit
    application.bot_data[STAFF_LIMITER] = RateLimiter(
        STAFF_RATE * settings.rate_limit_count, settings.rate_limit_seconds
    )
    application.bot_data[ADMIN] = admin or CorpusAdmin(config, assistant, log)
    application.bot_data[ALERTS] = Alerts(
        assistant, Subscriptions(config.data_path / SUBSCRIPTIONS_FILE, config.privacy.retention_days)
    )
    application.add_handler(TypeHandler(Update, rate_limit), group=-1)
    text = filters.UpdateType.MESSAGE & filters.TEXT
    application.add_handlers(
        [
            CommandHandler("start", start),
            CommandHandler("help", show_help),
            CommandHandler("article", show_article),
            CommandHandler("diff", show_diff),
            CommandHandler("docs", show_docs),
            CommandHandler("new", new_topic),
            CommandHandler("size", size_command),
            CommandHandler("privacy", show_privacy),
            CommandHandler("forget", ask_forget),
            CommandHandler("subscribe", subscribe),
            CommandHandler("subscriptions", show_subscriptions),
            CommandHandler("unsubscribe", unsubscribe),
            # staff only (admin_only refuses everyone else); publishing ones run without blocking
            CommandHandler("corpus", show_corpus),
            CommandHandler("reload", reload_corpus, block=False),
            CommandHandler("rollback", rollback_corpus, block=False),
            CommandHandler("remove", ask_removal),
            CommandHandler("stats", show_stats),
            MessageHandler(filters.UpdateType.MESSAGE & filters.Document.ALL, upload_document, block=False),
            MessageHandler(text & filters.COMMAND, unknown_command),
            MessageHandler(text & ~filters.COMMAND, text_message),
            CallbackQueryHandler(example_question, pattern=r"^ex:\d+$"),
            CallbackQueryHandler(full_article, pattern=r"^f:\d+:\d+$"),
            CallbackQueryHandler(more_hits, pattern=r"^m:\d+$"),
            CallbackQueryHandler(feedback, pattern=r"^fb:\d+:[+-]1$"),
            CallbackQueryHandler(admin_button, pattern=r"^adm:(ok|no):[A-Za-z0-9_-]{1,40}$", block=False),
            CallbackQueryHandler(forget_button, pattern=r"^forget:(ok|no)$"),
            CallbackQueryHandler(size_industry, pattern=r"^sz:\d{1,3}$"),
            CallbackQueryHandler(subscribe_button, pattern=r"^sub:\d+$"),
            CallbackQueryHandler(unsubscribe_button, pattern=r"^unsub:(\d+|all)$"),
            CallbackQueryHandler(alert_article, pattern=r"^al:[fd]:\d+$"),
            CallbackQueryHandler(stale_button),
        ]
    )
    application.add_error_handler(on_error)
    return application


async def register_commands(application: Application) -> None:
    """post_init: the command menu owners see next to the text box; admins' chats also list theirs."""
    await application.bot.set_my_commands(COMMANDS)
    admin: CorpusAdmin = application.bot_data[ADMIN]
    for user_id in admin.config.admin.user_ids:
        try:
            await application.bot.set_my_commands(COMMANDS + ADMIN_COMMANDS, scope=BotCommandScopeChat(user_id))
        except TelegramError as error:  # e.g. the admin has not started a chat with the bot yet
            logger.warning("could not set the admin command menu for user %s: %s", user_id, error)


async def close_question_log(application: Application) -> None:
    """post_shutdown: close questions.db."""
    conversation: Conversation = application.bot_data[CONVERSATION]
    if conversation.log is not None:
        conversation.log.close()


async def start_up(application: Application) -> None:
    """post_init: the command menus, and the sender of queued alerts (it sends once the application runs)."""
    await register_commands(application)
    sender = AlertSender(
        alerts_of(application).store, functools.partial(send_alert, application.bot), lambda: application.running
    )
    application.bot_data[ALERT_SENDER] = sender
    sender.start()


async def shut_down(application: Application) -> None:
    """post_shutdown: stop the alert sender (alerts not sent stay queued for the next start), close the files."""
    sender: AlertSender | None = application.bot_data.pop(ALERT_SENDER, None)
    if sender is not None:
        await sender.stop()
    alerts_of(application).store.close()
    await close_question_log(application)


# ---------------------------------------------------------------- helpers


def conversation_of(context: ContextTypes.DEFAULT_TYPE) -> Conversation:
    return context.bot_data[CONVERSATION]


async def send_html(
    update: Update, context: ContextTypes.DEFAULT_TYPE, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send HTML split into messages within Telegram's limit, at most MAX_MESSAGES (a huge article or echo is cut,
    saying so); buttons go under the last one."""
    chunks = split_message(text)
    if len(chunks) > MAX_MESSAGES:
        chunks = chunks[: MAX_MESSAGES - 1] + split_message(chunks[MAX_MESSAGES - 1] + "\n" + escape(TOO_LONG_TEXT))[:1]
    for number, chunk in enumerate(chunks, 1):
        await context.bot.send_message(
            update.effective_chat.id,
            chunk,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if number == len(chunks) else None,
        )


def replies_to_mistakes(handler: Handler) -> Handler:
    """Turn errors a person can fix (bad input, unknown article, stale button) into a reply."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await handler(update, context)
        except (UsageError, CorpusError) as error:
            text = error_text(error)
            if update.callback_query is not None and await try_answer(update, text):
                return
            await send_html(update, context, escape(text))

    return wrapper


async def try_answer(update: Update, text: str | None = None) -> bool:
    """Answer the update's callback query unless it was answered already."""
    try:
        return await update.callback_query.answer(text[:200] if text else None)
    except TelegramError:
        return False


MAX_CALLBACK_NUMBER = 2**31  # question ids and indexes are far below; anything larger is not one of ours


def callback_numbers(data: str | None, count: int) -> list[int]:
    """The `count` numbers after the prefix: "fb:12:-1" → [12, -1]; a malformed or foreign button is expired."""
    try:
        numbers = [int(part) for part in (data or "").split(":")[1:]]
    except ValueError:
        numbers = []
    if len(numbers) != count or not all(abs(n) < MAX_CALLBACK_NUMBER for n in numbers):
        raise ExpiredError(BUTTON_EXPIRED_TEXT)
    return numbers


def button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def examples_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(q, f"ex:{i}")] for i, q in enumerate(EXAMPLE_QUESTIONS)])


def answer_keyboard(asked: Asked) -> InlineKeyboardMarkup | None:
    """全文 / 更多相关条款 under an answer (not under an abstention), then 👍 / 👎."""
    qid = asked.question_id
    if qid is None:
        return None
    rows = []
    if not asked.answer.abstained:
        rows.append([button("全文", f"f:{qid}:0")])
        if asked.answer.more:
            rows[0].append(button("更多相关条款", f"m:{qid}"))
    rows.append([button(label, f"fb:{qid}:{value:+d}") for value, label in VOTE_LABELS.items()])
    return InlineKeyboardMarkup(rows)


def with_vote(markup: InlineKeyboardMarkup, vote: int) -> InlineKeyboardMarkup:
    """The same buttons with the chosen feedback marked."""

    def mark(b: InlineKeyboardButton) -> InlineKeyboardButton:
        if not (b.callback_data or "").startswith("fb:"):
            return b
        value = callback_numbers(b.callback_data, 2)[1]
        return button(VOTE_LABELS[value] + (" 已反馈" if value == vote else ""), b.callback_data)

    return InlineKeyboardMarkup([[mark(b) for b in row] for row in markup.inline_keyboard])


# ---------------------------------------------------------------- guards


async def rate_limit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Group −1: beyond the per-user rate, say "slow down" once and drop the update."""
    user = update.effective_user
    if user is None:
        return
    if admin_of(context).is_admin(user.id):
        if is_confirmation(update):
            return
        limiter = context.bot_data[STAFF_LIMITER]
    elif counts_as_question(update):
        limiter = context.bot_data[LIMITER]
    elif update.callback_query is not None:
        limiter = context.bot_data[BUTTON_LIMITER]
    else:
        return
    verdict = limiter.check(user.id)
    if verdict.allowed:
        return
    text = SLOW_DOWN_TEXT.format(seconds=verdict.retry_seconds)
    if update.callback_query is not None:
        await try_answer(update, text)
    elif verdict.first_refusal:
        await update.effective_message.reply_text(text)
    raise ApplicationHandlerStop


def is_confirmation(update: Update) -> bool:
    """确认 / 取消 under a staff preview: never dropped for an admin (anyone else pressing one is limited)."""
    return update.callback_query is not None and (update.callback_query.data or "").startswith("adm:")


def counts_as_question(update: Update) -> bool:
    """Text messages (commands too), files and example-question taps count; other button taps don't."""
    if update.callback_query is not None:
        return (update.callback_query.data or "").startswith("ex:")
    return update.message is not None and bool(update.message.text or update.message.document)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error with the update id, tell the person briefly; the bot keeps running."""
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("error while handling update %s", update_id, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.callback_query is not None:
        await try_answer(update)
    try:
        await context.bot.send_message(update.effective_chat.id, ERROR_TEXT)
    except TelegramError:
        logger.warning("could not tell the user about the error in update %s", update_id)


# ---------------------------------------------------------------- commands


@replies_to_mistakes
async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: what the bot covers, example questions to tap, and that it is not legal advice."""
    infos = await asyncio.to_thread(conversation_of(context).documents)
    await send_html(update, context, format_welcome(infos, Html, examples_as_buttons=True), examples_keyboard())


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: commands and tips (for an admin, the staff commands too)."""
    user = update.effective_user
    if admin_of(context).is_admin(user.id if user else None):
        await send_html(update, context, admin_help_html())
    else:
        await send_html(update, context, format_help(Html))


@replies_to_mistakes
async def show_article(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/article [doc] N: the whole article."""
    view = await asyncio.to_thread(conversation_of(context).article, context.args or [])
    await send_html(update, context, article_html(view))


@replies_to_mistakes
async def show_diff(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/diff [doc] N: draft → current wording."""
    view = await asyncio.to_thread(conversation_of(context).diff, context.args or [])
    await send_html(update, context, diff_html(view))


@replies_to_mistakes
async def show_docs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/docs: the documents with their article counts and dates."""
    infos = await asyncio.to_thread(conversation_of(context).documents)
    await send_html(update, context, docs_html(infos))


async def new_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new (or typing 新问题): the next message is a new question, not a follow-up."""
    conversation_of(context).new_topic(update.effective_chat.id)
    await send_html(update, context, escape(NEW_TOPIC_TEXT))


async def show_privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/privacy: what is kept about this user, for how long, who sees it, how to delete it."""
    held = await asyncio.to_thread(conversation_of(context).held_about, update.effective_user.id)
    subscribed = await asyncio.to_thread(alerts_of(context).held_about, update.effective_user.id)
    text = privacy_text(context.bot_data[RETENTION_DAYS], held.questions, held.votes)
    text += "\n" + PRIVACY_SUBSCRIPTIONS_TEXT.format(count=subscribed)
    await send_html(update, context, escape(text))


async def ask_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/forget: ask before deleting the user's records."""
    markup = InlineKeyboardMarkup([[button("确认删除", "forget:ok"), button("取消", "forget:no")]])
    await send_html(update, context, escape(FORGET_ASK_TEXT + FORGET_ALERTS_NOTE), markup)


async def forget_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """确认删除 / 取消 under /forget: only the person who presses it is forgotten."""
    query = update.callback_query
    await query.answer()
    await drop_buttons(update)
    if query.data == "forget:no":
        await send_html(update, context, escape(FORGET_KEPT_TEXT))
        return
    gone = await asyncio.to_thread(conversation_of(context).forget, update.effective_user.id, update.effective_chat.id)
    # subscriptions are made in private chats only: the user's id is their chat's
    dropped = await asyncio.to_thread(alerts_of(context).forget, update.effective_user.id)
    logger.info("a user's records were deleted at their request (%d questions)", gone.questions)
    text = FORGET_DONE_TEXT.format(questions=gone.questions, votes=gone.votes)
    text += FORGET_ALERTS_DONE_TEXT.format(subscriptions=dropped.subscriptions, pushes=dropped.pushes)
    await send_html(update, context, escape(text))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await send_html(update, context, escape(UNKNOWN_COMMAND_TEXT))


# ---------------------------------------------------------------- questions


@replies_to_mistakes
async def text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Plain text: a typed lookup (第十一条) shows the article; anything else is a question."""
    text = update.effective_message.text
    if text.strip().rstrip("。！!") in NEW_TOPIC_WORDS:
        await new_topic(update, context)
        return
    view = await asyncio.to_thread(conversation_of(context).lookup, text)
    if view is not None:
        await send_html(update, context, article_html(view))
        return
    size = await asyncio.to_thread(conversation_of(context).sizes.reply, text, update.effective_chat.id)
    if size is not None:
        await send_size(update, context, size)
    else:
        await answer_question(update, context, text)


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str) -> None:
    """Search (showing "typing…"), log, and reply with the cited answer and its buttons."""
    await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    asked = await asyncio.to_thread(
        conversation_of(context).ask, question, update.effective_user.id, None, update.effective_chat.id
    )
    await send_html(update, context, answer_html(asked.answer), answer_keyboard(asked))


@replies_to_mistakes
async def example_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A tapped example question under /start is answered like a typed one."""
    [index] = callback_numbers(update.callback_query.data, 1)
    if index >= len(EXAMPLE_QUESTIONS):
        raise ExpiredError(BUTTON_EXPIRED_TEXT)
    await update.callback_query.answer()
    await answer_question(update, context, EXAMPLE_QUESTIONS[index])


# ---------------------------------------------------------------- enterprise size (我们算小微企业吗)


def size_keyboard(reply: SizeReply) -> InlineKeyboardMarkup | None:
    """The standard's industries as buttons ("sz:<item of 第四条>") when the industry is asked for."""
    if not isinstance(reply, SizeAsk) or not reply.industries:
        return None
    buttons = [button(name, f"sz:{number}") for number, name in reply.industries]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


@replies_to_mistakes
async def size_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/size [words]: work out the enterprise's size, asking for the industry (buttons) and the figures."""
    words = " ".join(context.args or [])
    size = await asyncio.to_thread(conversation_of(context).sizes.start, words, update.effective_chat.id)
    await send_size(update, context, size)


@replies_to_mistakes
async def size_industry(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An industry button under "哪个行业？": the exchange goes on with it."""
    [number] = callback_numbers(update.callback_query.data, 1)
    size = await asyncio.to_thread(conversation_of(context).sizes.choose, update.effective_chat.id, number)
    await update.callback_query.answer()
    await drop_buttons(update)
    await send_size(update, context, size)


async def send_size(update: Update, context: ContextTypes.DEFAULT_TYPE, size: SizeReply) -> None:
    """A size answer (logged for /stats) or the question for a missing fact, with the industries as buttons."""
    await asyncio.to_thread(conversation_of(context).log_size, size, update.effective_user.id)
    await send_html(update, context, size_html(size), size_keyboard(size))


# ---------------------------------------------------------------- buttons under an answer


@replies_to_mistakes
async def full_article(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """全文: the whole article of a hit, split if long."""
    question_id, index = callback_numbers(update.callback_query.data, 2)
    view = await asyncio.to_thread(conversation_of(context).hit, question_id, index, update.effective_user.id)
    await update.callback_query.answer()
    await send_html(update, context, article_html(view))


@replies_to_mistakes
async def more_hits(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """更多相关条款: the next hits, each with a button for its whole article."""
    [question_id] = callback_numbers(update.callback_query.data, 1)
    hits = await asyncio.to_thread(conversation_of(context).more, question_id, update.effective_user.id)
    await update.callback_query.answer()
    buttons = [button(f"{n}. 全文", f"f:{question_id}:{index}") for n, (index, _) in enumerate(hits, 1)]
    markup = InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)]) if buttons else None
    await send_html(update, context, more_html([citation for _, citation in hits]), markup)


@replies_to_mistakes
async def feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍 / 👎: store the vote, thank the person, mark the chosen button (unless already marked)."""
    query = update.callback_query
    question_id, vote = callback_numbers(query.data, 2)
    await asyncio.to_thread(conversation_of(context).feedback, question_id, update.effective_user.id, vote)
    await query.answer("感谢反馈！")
    current = query.message.reply_markup if query.message is not None else None
    if current is not None and (marked := with_vote(current, vote)) != current:
        await query.edit_message_reply_markup(marked)


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button this version of the bot does not know (e.g. from an old message)."""
    await try_answer(update, "这个按钮已经失效了，请重新提问。")


# ---------------------------------------------------------------- staff: the corpus


def admin_of(context: ContextTypes.DEFAULT_TYPE) -> CorpusAdmin:
    return context.bot_data[ADMIN]


def admin_only(handler: Handler) -> Handler:
    """Let admins through; refuse everyone else, log who (the user id only), and do nothing more."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if admin_of(context).is_admin(user.id if user else None):
            await handler(update, context)
            return
        logger.warning("refused %s from non-admin user %s", attempted(update), user.id if user else None)
        if update.callback_query is not None:
            await try_answer(update, NOT_ADMIN_TEXT)
        else:
            await send_html(update, context, escape(NOT_ADMIN_TEXT))

    return wrapper


def attempted(update: Update) -> str:
    """What a refused update tried, for the log: a command name, "upload" or "button"."""
    message = update.effective_message
    if update.callback_query is not None:
        return "button"
    if message is not None and message.text:
        return message.text.split(maxsplit=1)[0][:40]
    return "upload"


def confirm_keyboard(token: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button("确认", f"adm:ok:{token}"), button("取消", f"adm:no:{token}")]])


@admin_only
@replies_to_mistakes
async def show_corpus(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/corpus: the serving version, who published it and when, its documents, the versions kept."""
    overview = await asyncio.to_thread(admin_of(context).overview)
    await send_html(update, context, corpus_html(overview))


@admin_only
@replies_to_mistakes
async def reload_corpus(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload: re-ingest the corpus folder from disk and publish what changed."""
    await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    notified = await publish(context, functools.partial(admin_of(context).reload, update.effective_user.id))
    await send_published(update, context, notified)


@admin_only
@replies_to_mistakes
async def rollback_corpus(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/rollback: serve the previous published version again."""
    notified = await publish(context, functools.partial(admin_of(context).rollback, update.effective_user.id))
    await send_published(update, context, notified)


@admin_only
@replies_to_mistakes
async def ask_removal(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/remove DOC: ask for confirmation before taking a document out."""
    if not context.args:
        raise UsageError(REMOVE_USAGE)
    preview = await asyncio.to_thread(
        admin_of(context).prepare_removal, " ".join(context.args), update.effective_user.id
    )
    await send_html(update, context, removal_html(preview), confirm_keyboard(preview.token))


@admin_only
@replies_to_mistakes
async def show_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats [days]: what owners asked, what was answered, what was not."""
    days = stats_days(context.args or [])
    stats = await asyncio.to_thread(admin_of(context).stats, days)
    await send_html(update, context, stats_html(stats))
    if stats.questions:
        await send_stats_chart(update, context, stats)


async def send_stats_chart(update: Update, context: ContextTypes.DEFAULT_TYPE, stats: Stats) -> None:
    """The /stats picture under the text. Drawing it is extra: whatever stops it, the text above stands."""
    await context.bot.send_chat_action(update.effective_chat.id, ChatAction.UPLOAD_PHOTO)
    try:
        png = await asyncio.to_thread(render_chart, stats.daily)
    except Exception:
        logger.exception("could not draw the /stats chart")
        await send_html(update, context, escape(STATS_CHART_FAILED_TEXT))
        return
    await context.bot.send_photo(
        update.effective_chat.id, png, caption=STATS_CHART_CAPTION.format(days=stats.days), filename="stats.png"
    )


def stats_days(args: list[str]) -> int:
    if not args:
        return STATS_DAYS
    if len(args) > 1 or not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_STATS_DAYS:
        raise UsageError(STATS_USAGE)
    return int(args[0])


@admin_only
@replies_to_mistakes
async def upload_document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A file from an admin: check, download, parse, and show a preview with 确认 / 取消."""
    message = update.effective_message
    admin = admin_of(context)
    admin.check_size(message.document.file_size)  # before downloading anything
    doc_id = admin.upload_id(message.document.file_name, message.caption)
    await context.bot.send_chat_action(update.effective_chat.id, ChatAction.TYPING)
    data = await download(message.document, admin)
    progress = UploadProgress(context, update.effective_chat.id)
    try:
        preview = await asyncio.to_thread(
            admin.prepare_upload, data, doc_id, message.document.file_name, update.effective_user.id, progress
        )
    finally:
        await progress.settle()  # the progress message comes before the preview or the refusal
    await send_html(update, context, preview_html(preview), confirm_keyboard(preview.token))


class UploadProgress:
    """OCR progress of an upload in the admin's chat: one message, edited as pages are read (at most every
    PROGRESS_SECONDS). Called from the thread that reads the file."""

    PROGRESS_SECONDS = 3.0

    def __init__(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        self.bot, self.chat_id = context.bot, chat_id
        self.loop = asyncio.get_running_loop()
        self.message = None
        self.shown = 0.0
        self.sending: list[concurrent.futures.Future] = []
        self.lock = asyncio.Lock()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if 0 < done < total and now - self.shown < self.PROGRESS_SECONDS:
            return
        self.shown = now
        text = OCR_DONE_TEXT.format(total=total) if done == total else OCR_PROGRESS_TEXT.format(done=done, total=total)
        self.sending.append(asyncio.run_coroutine_threadsafe(self._show(text), self.loop))

    async def _show(self, text: str) -> None:
        async with self.lock:  # in order: the first call sends the message, later ones edit it
            try:
                if self.message is None:
                    self.message = await self.bot.send_message(self.chat_id, text)
                else:
                    await self.message.edit_text(text)
            except TelegramError as error:
                logger.warning("upload progress not shown: %s", error)

    async def settle(self) -> None:
        await asyncio.gather(*(asyncio.wrap_future(future) for future in self.sending), return_exceptions=True)


async def download(document: Document, admin: CorpusAdmin) -> bytes:
    """The file's bytes, through a path we choose in a fresh temp folder (never the sender's file
    name). Its file_path is never logged: it carries the bot token."""
    telegram_file = await document.get_file()
    admin.check_size(telegram_file.file_size)
    with tempfile.TemporaryDirectory(prefix="policybot-upload-") as folder:
        path = Path(folder) / "upload"
        await telegram_file.download_to_drive(path)
        return await asyncio.to_thread(path.read_bytes)


@admin_only
@replies_to_mistakes
async def admin_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """确认 publishes the pending upload or removal and switches to it; 取消 forgets it."""
    query = update.callback_query
    _, action, token = query.data.split(":", 2)
    admin = admin_of(context)
    if action == "no":
        admin.cancel(token)
        await query.answer(CANCELLED_TEXT)
        await drop_buttons(update)
        await send_html(update, context, escape(CANCELLED_TEXT))
        return
    admin.check_pending(token)  # an old button: say so in the button's answer
    await query.answer(PUBLISHING_TEXT)
    notified = await publish(context, functools.partial(admin.confirm, token, update.effective_user.id))
    await drop_buttons(update)
    await send_published(update, context, notified)


async def publish(context: ContextTypes.DEFAULT_TYPE, run: Callable[[], Refreshed]) -> Notified:
    """A staff publish, in a thread, with the alerts it calls for queued."""
    return await asyncio.to_thread(alerts_of(context).publish, run)


async def send_published(update: Update, context: ContextTypes.DEFAULT_TYPE, notified: Notified) -> None:
    """What the publish did and how many subscribers will hear of it; then the alerts go out."""
    await send_html(update, context, refreshed_html(notified.refreshed) + notified_html(notified.chats))
    sender: AlertSender | None = context.bot_data.get(ALERT_SENDER)
    if notified.chats and sender is not None:
        sender.wake()


async def drop_buttons(update: Update) -> None:
    """Take 确认 / 取消 off a handled preview, so it is not pressed twice."""
    try:
        await update.callback_query.edit_message_reply_markup(None)
    except TelegramError:
        pass  # the message is gone or has no buttons any more


# ---------------------------------------------------------------- alerts (subscriptions)


def alerts_of(holder: Application | ContextTypes.DEFAULT_TYPE) -> Alerts:
    return holder.bot_data[ALERTS]


def private_only(handler: Handler) -> Handler:
    """Subscriptions are made in a private chat: alerts go to the person who asked for them, never to a group."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        if chat is not None and chat.type == ChatType.PRIVATE:
            await handler(update, context)
        elif update.callback_query is not None:
            await try_answer(update, SUBSCRIBE_PRIVATE_TEXT)
        else:
            await send_html(update, context, escape(SUBSCRIBE_PRIVATE_TEXT))

    return wrapper


def topics_keyboard() -> InlineKeyboardMarkup:
    buttons = [button(name, f"sub:{index}") for index, name in enumerate(TOPICS)]
    return InlineKeyboardMarkup([buttons[i : i + 3] for i in range(0, len(buttons), 3)])


def subscribed_text(label: str, new: bool) -> str:
    return (SUBSCRIBED_TEXT if new else ALREADY_SUBSCRIBED_TEXT).format(label=label)


@private_only
@replies_to_mistakes
async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscribe: the topics as buttons; /subscribe 融资: subscribe to a topic or a keyword."""
    text = " ".join(context.args or [])
    if not text:
        await send_html(update, context, escape(SUBSCRIBE_CHOOSE_TEXT), topics_keyboard())
        return
    subscribed = await asyncio.to_thread(alerts_of(context).subscribe, update.effective_chat.id, text)
    await send_html(update, context, escape(subscribed_text(subscribed.label, subscribed.new)))


@private_only
@replies_to_mistakes
async def subscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A topic button under /subscribe."""
    [index] = callback_numbers(update.callback_query.data, 1)
    subscribed = await asyncio.to_thread(alerts_of(context).subscribe_topic, update.effective_chat.id, index)
    await update.callback_query.answer()
    await send_html(update, context, escape(subscribed_text(subscribed.label, subscribed.new)))


@private_only
async def show_subscriptions(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscriptions: what this chat is subscribed to."""
    subscriptions = await asyncio.to_thread(alerts_of(context).of_chat, update.effective_chat.id)
    await send_html(update, context, subscriptions_html(subscriptions))


@private_only
@replies_to_mistakes
async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unsubscribe 融资 cancels that one; /unsubscribe offers a button per subscription and 全部取消."""
    alerts, chat_id = alerts_of(context), update.effective_chat.id
    text = " ".join(context.args or [])
    if text:
        label = await asyncio.to_thread(alerts.unsubscribe, chat_id, text)
        await send_html(update, context, escape(UNSUBSCRIBED_TEXT.format(label=label)))
        return
    subscriptions = await asyncio.to_thread(alerts.of_chat, chat_id)
    if not subscriptions:
        await send_html(update, context, subscriptions_html([]))
        return
    rows = [[button(f"取消 {s.label}", f"unsub:{s.id}")] for s in subscriptions]
    rows.append([button(UNSUBSCRIBE_ALL_LABEL, "unsub:all")])
    await send_html(update, context, escape(UNSUBSCRIBE_CHOOSE_TEXT), InlineKeyboardMarkup(rows))


@private_only
@replies_to_mistakes
async def unsubscribe_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button under /unsubscribe: cancel that subscription (its button goes), or all of them."""
    query = update.callback_query
    alerts, chat_id = alerts_of(context), update.effective_chat.id
    if query.data == "unsub:all":
        count = await asyncio.to_thread(alerts.unsubscribe_all, chat_id)
        text, left = UNSUBSCRIBED_ALL_TEXT.format(count=count), None
    else:
        [subscription_id] = callback_numbers(query.data, 1)
        label = await asyncio.to_thread(alerts.unsubscribe_id, chat_id, subscription_id)
        text, left = UNSUBSCRIBED_TEXT.format(label=label), without_button(query.message, query.data)
    await query.answer()
    try:
        await query.edit_message_reply_markup(left)
    except TelegramError:
        pass  # the message is gone or its buttons are unchanged
    await send_html(update, context, escape(text))


def without_button(message: object, data: str) -> InlineKeyboardMarkup | None:
    """A message's buttons less the one pressed; None when only 全部取消 would be left."""
    markup = getattr(message, "reply_markup", None)
    if markup is None:
        return None
    rows = [row for row in markup.inline_keyboard if all(b.callback_data != data for b in row)]
    return InlineKeyboardMarkup(rows) if len(rows) > 1 else None


@replies_to_mistakes
async def alert_article(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """全文 under an alert: the article as served now (a removed one as it was); 对比: its wording before the
    publish → after."""
    query = update.callback_query
    [change_id] = callback_numbers(query.data.removeprefix("al:"), 1)
    alerts = alerts_of(context)
    change = await asyncio.to_thread(alerts.change, change_id)
    if query.data.startswith(ALERT_DIFF):
        text = change_diff_html(change)
    else:
        view = await asyncio.to_thread(alerts.current, change)
        text = article_html(view) if view is not None else stored_article_html(change)
    await query.answer()
    await send_html(update, context, text)


ALERT_FULL, ALERT_DIFF = "al:f:", "al:d:"  # + a stored change's id
ALERT_BUTTONED = 5  # listed articles that get 全文 / 对比 buttons


def alert_keyboard(changes: list[ArticleChange]) -> InlineKeyboardMarkup | None:
    """全文 (and 对比, for a changed article) per listed article, numbered as the alert lists them."""
    rows = []
    for number, change in enumerate(changes[:ALERT_BUTTONED], 1):
        row = [button(f"{number}. 全文", f"{ALERT_FULL}{change.id}")]
        if change.action == ChangeAction.CHANGED:
            row.append(button(f"{number}. 对比", f"{ALERT_DIFF}{change.id}"))
        rows.append(row)
    return InlineKeyboardMarkup(rows) if rows else None


async def send_alert(bot: Bot, chat_id: int, subscriptions: list[str], changes: list[ArticleChange]) -> Outcome:
    """One queued alert (for bot.alert_sender), and how Telegram took it."""
    try:
        await bot.send_message(
            chat_id, alert_html(subscriptions, changes), parse_mode=ParseMode.HTML, reply_markup=alert_keyboard(changes)
        )
    except Forbidden:
        return Outcome(Delivery.BLOCKED)
    except RetryAfter as error:
        return Outcome(Delivery.WAIT, retry_after=seconds_of(error.retry_after))
    except BadRequest as error:
        return Outcome(Delivery.REFUSED, reason=error.message)
    except TelegramError as error:
        return Outcome(Delivery.FAILED, reason=str(error))
    return Outcome(Delivery.SENT)


def seconds_of(retry_after: object) -> float:
    """RetryAfter.retry_after: seconds, or a timedelta in newer python-telegram-bot releases."""
    total = getattr(retry_after, "total_seconds", None)
    return float(total() if total is not None else retry_after)


# ---------------------------------------------------------------- running


def run_bot(config: Config, assistant: Assistant, token: str) -> None:
    """Serve until interrupted: long polling, or a webhook server when configured."""
    settings = config.telegram
    redact_in_logs(token)
    application = build_application(config, assistant, token)
    if settings.mode == "webhook":
        from .webhook import serve_webhook

        asyncio.run(serve_webhook(application, assistant, settings))
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)


class RedactFilter(logging.Filter):
    """Replaces a secret in log messages and tracebacks (error texts can carry request URLs)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self.secret in message:
            record.msg, record.args = message.replace(self.secret, "<TOKEN>"), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.secret in record.exc_text:
            record.exc_text = record.exc_text.replace(self.secret, "<TOKEN>")
        return True


def redact_in_logs(token: str) -> None:
    """Keep the bot token out of every log line the root handlers write."""
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactFilter(token))
