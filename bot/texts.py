"""Every fixed text a person reads (owners and staff), in one place: commands, usage lines,
refusals and the abstention. Formatting lives in bot/render.py; the words live here."""

from __future__ import annotations

from policy_corpus.errors import UnknownDocumentError
from policy_corpus.filekinds import FileKind
from policy_corpus.model import ChangeAction, Version
from policy_corpus.size import Metric, Size

# The command menu (set_my_commands) and /help; descriptions are what owners read.
COMMANDS: list[tuple[str, str]] = [
    ("start", "开始使用：能查什么、示例问题"),
    ("help", "命令和提问技巧"),
    ("article", "查看条文：/article 11 或 /article sme_law 19"),
    ("diff", "湖南办法修订前后对比：/diff 11"),
    ("docs", "收录的文件"),
    ("size", "算算企业规模：是不是小微企业"),
    ("new", "问新问题（不接着上一个问题回答）"),
    ("subscribe", "订阅政策更新提醒：/subscribe 融资"),
    ("subscriptions", "我的订阅"),
    ("unsubscribe", "取消订阅"),
    ("privacy", "我们保存什么、保存多久、怎么删除"),
    ("forget", "删除我的提问记录"),
]
# Staff only: shown in /help and the command menu of admins' chats, never in everyone's menu.
ADMIN_COMMANDS: list[tuple[str, str]] = [
    ("corpus", "管理员：正在服务的语料版本、文件和旧版本"),
    ("reload", "管理员：从语料文件夹（含示例问题）重新收录并发布"),
    ("rollback", "管理员：回退到上一个版本"),
    ("remove", "管理员：删除文件：/remove 编号"),
    ("stats", "管理员：提问统计：/stats 7"),
]
EXAMPLE_QUESTIONS = [
    "银行贷款到期了，能不能不还本金直接续贷？",
    "大企业拖欠我们的货款怎么办？",
    "政府采购有没有给小企业预留份额？",
]
ARTICLE_USAGE = "用法：/article 条号，如 /article 11（湖南办法）；其他文件写上编号：/article sme_law 19（编号见 /docs）"
DIFF_USAGE = "用法：/diff 条号，如 /diff 11（湖南办法修订草案与二次审议稿的对比）"
SLOW_DOWN_TEXT = "您发得有点快，请等 {seconds} 秒再试。"
UNKNOWN_COMMAND_TEXT = "没有这个命令。发送 /help 查看可用的命令。"
ERROR_TEXT = "抱歉，处理您的消息时出了点问题，请稍后再试。"
NOT_ADMIN_TEXT = "抱歉，这个操作仅限管理员使用。"
BUSY_TEXT = "正在更新，请稍候。上一项更新完成后再试。"
REMOVE_USAGE = "用法：/remove 文件编号，如 /remove payment（编号见 /corpus）"
STATS_USAGE = "用法：/stats [天数]，如 /stats 7（默认 7 天，最多 365 天）"
STATS_CHART_CAPTION = (
    "最近 {days} 天每天的提问（按 UTC 日期）：上图绿色为已回答、灰色为未覆盖；下图为每天的 👍（up）和 👎（down）。"
)
STATS_CHART_FAILED_TEXT = "统计图没能生成，以上文字统计不受影响。请稍后再发 /stats；仍不行请查看服务器日志。"
CANCELLED_TEXT = "已取消，正在服务的语料没有改动。"
PUBLISHING_TEXT = "正在发布，请稍候…"
UPLOAD_TIP = "上传文件：直接发送政策原件：PDF（含扫描件）、网页（.html）、Word（.docx / .doc）、WPS 或 .txt / .md，在说明里写文件编号（不写则用文件名）；确认前会先显示预览。"
VERSION_NAMES = {Version.CURRENT: "现行文本", Version.DRAFT: "修订草案"}
ACTION_NAMES = {ChangeAction.ADDED: "新增", ChangeAction.CHANGED: "修改", ChangeAction.REMOVED: "删除"}
CONTEXT_NOTE = "接着上一个问题（{topic}）回答；问新问题请发 /new。"
# before the cited 款/项 when a short article is quoted whole in plain text (Telegram shows it in bold)
CITED_MARK = "▶ "
NEW_TOPIC_TEXT = "好的，请说您的新问题。"
NEW_TOPIC_WORDS = ("新问题", "换个问题", "问别的")  # typed instead of /new
ANSWER_EXPIRED_TEXT = "这条回答已过期，请重新提问。"
REPEALED_TEXT = "【已废止】本法规已被{by}废止，以下仅供查阅，不是现行规定。"
NOT_YET_TEXT = "【尚未施行】本法规自{date}起施行，此前不是现行规定。"
SUPERSEDED_TEXT = "【历史版本】本法规已有更新的版本，以下不是现行文本。"
TOO_LONG_TEXT = "（内容过长，只显示了开头部分。）"
BUTTON_EXPIRED_TEXT = "这个按钮已经失效了，请直接输入您的问题。"
SIZE_NAMES = {Size.LARGE: "大型企业", Size.MEDIUM: "中型企业", Size.SMALL: "小型企业", Size.MICRO: "微型企业"}
DOCS_HINT = "发送 /docs 查看收录的文件。"  # after an unknown document, where commands can be sent
EXPIRED_TEXT = "这项操作已经处理过或已失效。如需更新，请重新上传或重新发送命令。"
ABSTAIN_TEXT = (
    "抱歉，现有文件里没有找到与这个问题直接相关的条文。\n"
    "可以换个说法再问，写明具体事项（如“贷款续贷”“拖欠货款”“政府采购”）；"
    "发送 /docs 查看收录的文件，或用 /article 条号 直接查看条文。"
)
ADVICE_TEXT = (
    "抱歉，这是经营上的判断（行情、值不值得、选哪个），法律法规里没有答案；我只能帮您查找适用的条文。\n"
    "如果其中有法律上的问题（合同、用工、税费、证照等），可以直接问，例如“员工试用期最长多久”。"
)
BEYOND_THE_LAW_TEXT = (
    "抱歉，这个问题法律法规里没有答案（比如经营上的建议、某地办事窗口和电话、平台的收费和规则、软件怎么操作），"
    "我只能帮您查找适用的条文。\n"
    "如果其中有法律上的问题（合同、用工、税费、证照等），可以直接问，例如“员工试用期最长多久”。"
)
STATEMENT_TEXT = "好的，请接着说您想问的（例如“没签合同要赔钱吗”）。"
CHITCHAT_TEXT = "这个我答不上来：我只查找法规条文。请直接说您经营中遇到的问题，例如“员工试用期最长多久”。"
HELLO_TEXT = "您好！请直接说您的问题，例如“员工试用期最长多久”“大企业拖欠货款怎么办”。"
THANKS_TEXT = "不客气。还有问题可以接着问；问新问题前可以发 /new。"
NOT_CHINESE_TEXT = "请用中文描述您的问题，例如“员工试用期最长多久”：收录的法规都是中文的。(Please ask in Chinese.)"
FIGURE_MISSING_TEXT = (
    "抱歉，现有文件提到了这个事项，但没有规定您问的具体数字、期限或材料。\n"
    "相关的条文是：{nearest}（发送“第N条”可查看全文）。具体标准请向主管部门咨询。"
)
DISCLAIMER = "以上为法规原文摘录，仅供参考，不构成法律意见。"


def error_text(error: Exception, commands: bool = True) -> str:
    """What a person reads for an error they can correct; `commands`: the front end takes /docs and the like
    (Telegram, the terminal chat), not the command line."""
    text = str(error)
    if commands and isinstance(error, UnknownDocumentError) and "/docs" not in text:
        text = f"{text}{DOCS_HINT}"
    return text


def privacy_text(retention_days: int, questions: int, votes: int) -> str:
    """/privacy: what is stored about an owner, for how long, who sees it, and how to delete it."""
    return (
        "隐私说明\n"
        "• 我们保存：您的 Telegram 用户编号（不保存姓名、手机号）、您提的问题（其中像身份证号、手机号的数字会先打码；"
        "问候和“谢谢”之类不保存）、回答引用的条文，以及您点的 👍/👎。\n"
        f"• 保存多久：{retention_days} 天，到期自动删除。为理解追问，最近一个问题只在内存里保留 10 分钟，不写入记录。\n"
        "• 谁能看到：管理员在 /stats 里看到提问数量、回答比例和没有找到答案的问题原文，用于改进收录的文件；不对外提供。\n"
        f"• 目前保存的您的记录：提问 {questions} 条，反馈 {votes} 条。\n"
        "• 删除：发送 /forget，确认后立即删除您的全部记录。"
    )


FORGET_ASK_TEXT = "确定删除您的全部提问记录和反馈吗？删除后无法恢复。"
FORGET_DONE_TEXT = "已删除：提问 {questions} 条，反馈 {votes} 条，以及当前对话的上下文。"
FORGET_KEPT_TEXT = "已取消，您的记录没有改动。"

BUILDING_NOTE = (
    "（国家法律法规的语义索引正在后台建立，建好后自动切换；在此之前这些法律按字词查找。进度：policybot status）"
)


def building_line(progress: float) -> str:
    """/corpus: how far the background build of the search index has come."""
    return f"语义索引：后台建立中，已完成 {progress:.0%}（建好前国家法律按字词查找）"


# Uploads in other formats (PDF, scans, web pages, .doc / .wps): how the text was read, under the preview.
SOURCE_NOTES = {
    FileKind.PDF: "来源：PDF，共 {pages} 页，已去掉页眉、页脚和页码，断行已按段落接好。",
    FileKind.OCR: (
        "来源：扫描件 PDF，{ocr_pages} 页（共 {pages} 页）的文字由 OCR 识别，用时 {seconds} 秒。"
        "识别可能有错字，请核对条文后再确认。"
    ),
    FileKind.HTML: "来源：网页（{encoding} 编码），只取了正文，已去掉导航、栏目、分享按钮和页脚。",
    FileKind.DOCX: "来源：Word 文件，含 {tables} 个表格，表格里的条文已按文档顺序读取。",
    FileKind.DOC: "来源：{suffix} 文件，已用 LibreOffice 转换（用时 {seconds} 秒）。",
    FileKind.WPS: "来源：{suffix} 文件，已用 LibreOffice 转换（用时 {seconds} 秒）。",
}
# A converted .doc / .wps with tables
CONVERTED_TABLES_NOTE = (
    "来源：{suffix} 文件，已用 LibreOffice 转换（用时 {seconds} 秒），含 {tables} 个表格，已按文档顺序读取。"
)
OCR_PROGRESS_TEXT = "正在识别扫描件（OCR）：已完成 {done}/{total} 页，请稍候…"
OCR_DONE_TEXT = "扫描件识别完成：共 {total} 页，正在生成预览…"
OCR_NUMBERING_NOTE = (
    "\n（这份扫描件的文字由 OCR 识别，条号可能识别有误：请核对原件，或上传带文字层的 PDF / Word 版本。）"
)

SOLE_TRADER_NOTE = "个体工商户不直接适用本规定，按所经营的行业参照划型："

# Enterprise size in the conversation (bot/size_chat.py): "我们算小微企业吗？"
SIZE_VERDICT = "{how}《{title}》，属于{size}（{industry}）。"
SIZE_MEANS = {
    Size.MICRO: "微型企业属于小微企业。",
    Size.SMALL: "小型企业属于小微企业。",
    Size.MEDIUM: "中型企业属于中小企业，但不是小微企业。",
    Size.LARGE: "大型企业不属于中小企业。",
}
SIZE_FIGURES = "依据：{figures}"
SIZE_READING = "“{said}”按{shown}算"
SIZE_ROUGH_NOTE = "注意：“{said}”处在划型的界线附近，实际数字不同，结果可能不同；告诉我准确的数字，我再算一遍。"
SIZE_ASK_INDUSTRY = "请问您的企业属于哪个行业？"
SIZE_ASK_SOLE_TRADER = "个体工商户按所经营的行业参照划型。请问您做的是哪个行业？"
SIZE_INDUSTRY_BUTTONS = "请点下面的行业，或直接告诉我（如“开饭馆”“做软件”“开超市”）。"
SIZE_INDUSTRY_TYPED = "直接告诉我即可（如“开饭馆”“做软件”“开超市”）。标准里的行业有：{names}。"
SIZE_UNKNOWN_INDUSTRY = "没认出“{words}”是标准里的哪个行业。"
SIZE_KNOWN = "已记下：{figures}。"
SIZE_ASK_FIGURES = "{industry}按{metrics}划型，还需要：{missing}。直接回复即可，如“{example}”。"
SIZE_METRIC_ASKED = {Metric.STAFF: "从业人员人数", Metric.REVENUE: "一年的营业收入", Metric.ASSETS: "资产总额"}
SIZE_METRIC_EXAMPLE = {Metric.STAFF: "20人", Metric.REVENUE: "营业额500万", Metric.ASSETS: "资产800万"}
SIZE_UNREADABLE = "抱歉，现行划型标准中“{industry}”这一项暂时无法自动读取，请发送“第四条”查看原文。"
SIZE_UNLISTED_NOTE = "“其他未列明行业”是本规定没有单独列出的行业；第六条规定，本规定以外的行业参照本规定进行划型："
SIZE_RULE_WARNING = "⚠️ 划型标准：{problem}。“算不算小微企业”的回答用不上这一项（其他行业照常），请核对后重新上传。"
SIZE_GONE_WARNING = "⚠️ 划型标准（sme_size）已不在语料中：“算不算小微企业”的问题将按一般问题检索回答。"
# Alerts (/subscribe, bot/alerts.py): the named topics owners can pick, each searched with a few words.
TOPICS: dict[str, str] = {
    "融资贷款": "融资 贷款 担保 信贷 续贷",
    "税费": "税收 税费 减免 优惠 收费",
    "政府采购": "政府采购 采购 预留份额",
    "款项支付": "拖欠 款项 支付 账款 货款",
    "用工": "用工 劳动 工资 社会保险 招聘",
    "创业扶持": "创业 扶持 补贴 孵化",
}
SUBSCRIBE_CHOOSE_TEXT = (
    "请选择要订阅的主题，或发送 /subscribe 关键词，如 /subscribe 融资。"
    "管理员发布的更新里有相关条文新增、修改或删除时，我会发一条消息告诉您。"
)
SUBSCRIBED_TEXT = (
    "已订阅“{label}”。相关条文有新增、修改或删除时，我会发消息告诉您。/subscriptions 查看订阅，/unsubscribe 取消。"
)
ALREADY_SUBSCRIBED_TEXT = "您已经订阅了“{label}”。/subscriptions 查看您的订阅。"
SUBSCRIPTIONS_EMPTY_TEXT = "您还没有订阅。发送 /subscribe 选择主题或关键词。"
SUBSCRIPTIONS_HEADING = "您订阅了："
SUBSCRIPTION_KINDS = {"topic": "主题", "keyword": "关键词"}
SUBSCRIPTIONS_FOOTER = "发送 /unsubscribe 取消订阅。"
UNSUBSCRIBE_CHOOSE_TEXT = "要取消哪一项订阅？"
UNSUBSCRIBE_ALL_LABEL = "全部取消"
UNSUBSCRIBED_TEXT = "已取消订阅“{label}”。"
UNSUBSCRIBED_ALL_TEXT = "已取消全部订阅（{count} 项），不会再收到提醒。"
NOT_SUBSCRIBED_TEXT = "您没有订阅“{label}”。发送 /subscriptions 查看您的订阅。"
SUBSCRIBE_PRIVATE_TEXT = "订阅提醒只能在与我的私聊中使用。"
KEYWORD_TOO_LONG_TEXT = "关键词太长（{chars} 个字），请写 {limit} 个字以内，如 /subscribe 融资。"
KEYWORD_BAD_TEXT = "关键词要是一个能查找的词（文字或数字），如 /subscribe 融资。"
TOO_MANY_SUBSCRIPTIONS_TEXT = "最多订阅 {limit} 项。请先用 /unsubscribe 取消不需要的订阅。"
ALERT_HEADING = "订阅提醒"
ALERT_INTRO = "与您订阅的{labels}有关的条文有更新："
ALERT_MORE = "……另有 {count} 条相关变化未列出。"
ALERT_FOOTER = "点下面的按钮看全文或修改前后的对比；/unsubscribe 取消订阅。"
SUBSCRIPTION_GONE_TEXT = "这项订阅已经取消了。发送 /subscriptions 查看您的订阅。"
TOPIC_EXPIRED_TEXT = "这个按钮已经失效了，请重新发送 /subscribe。"
ALERT_EXPIRED_TEXT = "这条提醒已过期。请发送 /docs 或 /article 查看现行条文。"
REMOVED_ARTICLE_NOTE = "（此条已删除，以下是删除前的条文）"
CHANGE_DIFF_NOTE = "（本次更新修改前后对比）"
NOTIFIED_TEXT = "将通知 {count} 位订阅者。"
PRIVACY_SUBSCRIPTIONS_TEXT = (
    "• 订阅提醒：您订阅了 {count} 项。只保存您的聊天编号和订阅的主题或关键词，直到您取消订阅（/unsubscribe）"
    "或发送 /forget；管理员发布的更新与订阅有关时，据此给您发一条消息。"
)
FORGET_ALERTS_NOTE = "您的订阅提醒也会一并删除。"
FORGET_ALERTS_DONE_TEXT = "订阅 {subscriptions} 项、待发送的提醒 {pushes} 条也已删除。"
