"""Text fragments for the generated demo dataset: per-query sentence pools and spam templates.

Each pool sentence stands on its own, so that any handful of them reads like a web passage. The pools
are graded: `answers` settle the query, `mostly` settle most of it, `partial` only touch it, `related`
are on the subject without answering, and `details` add context to an answer without being one.
`headings` restate the query the way a page title or FAQ heading would.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    query: str
    need: str  # what the searcher wants, as rationales say it: "... never says {need}"
    subject: str  # the broader subject: "about {subject} in general"
    missing: str  # what a partial answer leaves out
    keywords: tuple[str, ...]  # what a spammer would stuff into a page
    headings: tuple[str, ...]
    answers: tuple[str, ...]
    details: tuple[str, ...]
    mostly: tuple[str, ...]
    partial: tuple[str, ...]
    related: tuple[str, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        query="how long to boil an egg",
        need="how long to boil an egg",
        subject="eggs",
        missing="timings for both soft and hard yolks",
        keywords=("boil an egg", "boiled egg", "egg boiling time", "how long to boil eggs"),
        headings=(
            "How long should you boil an egg?",
            "Boiled eggs: how long is long enough?",
            "How long to boil an egg, from runny to firm.",
        ),
        answers=(
            "Lower the eggs into boiling water and cook them for 6 to 7 minutes for a jammy, soft yolk or "
            "10 to 12 minutes for a fully hard-boiled egg.",
            "A large egg added to water at a rolling boil needs about 6 minutes for a runny yolk, 8 minutes "
            "for a just-set centre and 11 minutes to be hard-boiled all the way through.",
            "The short answer: boil an egg for 6 minutes if you want it soft and 10 to 12 minutes if you "
            "want it hard, timed from the moment it goes into the boiling water.",
            "If you start eggs in cold water instead, bring the pot to a boil, take it off the heat, cover "
            "it and leave the eggs for 4 minutes for soft yolks or 12 minutes for hard ones.",
        ),
        details=(
            "Move the eggs straight into a bowl of ice water afterwards; it stops the cooking and makes "
            "them easier to peel.",
            "Extra-large eggs need roughly one minute longer, and eggs straight from the fridge may need an "
            "extra 30 seconds.",
            "At high altitude water boils at a lower temperature, so add a minute or two to each time.",
            "Use a timer rather than guessing: two minutes is the difference between a runny and a chalky "
            "yolk.",
            "Keep the water at a gentle boil so the shells do not crack against the bottom of the pot.",
        ),
        mostly=(
            "Hard-boiled eggs take about 10 to 12 minutes in boiling water, after which they should be "
            "cooled in cold water before peeling.",
            "For a classic soft-boiled egg with a runny yolk for dipping toast, boil it for about 6 minutes.",
            "Most cooks boil eggs for somewhere between 6 and 12 minutes, depending on how firm they like "
            "the yolk.",
        ),
        partial=(
            "How long you boil an egg depends on how you like the yolk, so it is worth experimenting with a "
            "few batches.",
            "Eggs only need a few minutes in boiling water, and overcooking them gives the yolk a greenish "
            "ring.",
            "A boiled egg is done when the white is completely set, which does not take long at all.",
        ),
        related=(
            "Eggs are one of the most affordable sources of high-quality protein, with about 6 grams in a "
            "large egg.",
            "Older eggs are easier to peel than very fresh ones because the membrane loosens from the shell "
            "over time.",
            "A grey-green ring around the yolk is harmless; it is a reaction between iron and sulphur.",
            "Hard-boiled eggs keep in the fridge for up to a week if you leave them in their shells.",
            "Deviled eggs, egg salad and ramen eggs all start from a batch of boiled eggs.",
            "To check if an egg is fresh, put it in a bowl of water: fresh eggs sink and lie flat, old ones "
            "float.",
        ),
    ),
    Topic(
        query="python list comprehension syntax",
        need="the syntax of a Python list comprehension",
        subject="Python",
        missing="the full bracket syntax with a filter",
        keywords=("python list comprehension", "list comprehension syntax", "python syntax", "comprehension"),
        headings=(
            "Python list comprehension syntax, explained.",
            "What is the syntax of a list comprehension in Python?",
            "Python list comprehension syntax cheat sheet.",
        ),
        answers=(
            "A list comprehension has the form [expression for item in iterable if condition]; for example, "
            "[x * x for x in range(10) if x % 2 == 0] builds a list of the even squares.",
            "The syntax is [expr for item in iterable], optionally followed by more for or if clauses, so "
            "[n for n in nums if n > 0] keeps only the positive numbers.",
            "Write the expression first, then the for clause, then an optional if filter, all inside square "
            "brackets: [word.upper() for word in words if word].",
            "In Python, [f(x) for x in xs if p(x)] is equivalent to starting with an empty list and "
            "appending f(x) inside a for loop whenever p(x) is true.",
        ),
        details=(
            "Nested loops read left to right in the same order as nested for statements, as in [(a, b) for "
            "a in range(3) for b in range(3)].",
            "To use an else branch, put a conditional expression at the front: [x if x > 0 else 0 for x in "
            "values].",
            "Swap the square brackets for curly braces to get a set or dict comprehension, or for "
            "parentheses to get a generator expression.",
            "The loop variable of a comprehension does not leak into the surrounding scope in Python 3.",
            "Comprehensions are usually a little faster than the equivalent loop with append.",
        ),
        mostly=(
            "A list comprehension builds a new list from an iterable in one line, for example squares = [x "
            "** 2 for x in range(5)].",
            "You can filter inside a list comprehension by adding an if clause after the loop, as in [x for "
            "x in data if x is not None].",
            "The basic pattern is new_list = [expression for item in iterable], which replaces a three-line "
            "for loop.",
        ),
        partial=(
            "A list comprehension is written inside square brackets and starts with the expression you want "
            "in the new list.",
            "A comprehension combines a loop and an optional condition into a single expression inside "
            "brackets.",
            "In a comprehension the for clause comes after the expression, which surprises people used to "
            "writing loops.",
        ),
        related=(
            "Python lists are ordered, mutable sequences that can hold items of different types.",
            "The built-in map() function applies a function to every item of an iterable and returns an "
            "iterator.",
            "PEP 8 recommends limiting lines to 79 characters to keep code readable side by side.",
            "Python 3.12 made comprehensions faster by inlining them, as described in PEP 709.",
            "A for loop in Python iterates over any iterable, including lists, strings, files and "
            "generators.",
            "Tuples are like lists but immutable, which makes them usable as dictionary keys.",
        ),
    ),
    Topic(
        query="symptoms of vitamin d deficiency",
        need="the symptoms of vitamin D deficiency",
        subject="vitamin D",
        missing="a fuller list of symptoms",
        keywords=("vitamin d deficiency", "vitamin d", "deficiency symptoms", "vitamin d symptoms"),
        headings=(
            "What are the symptoms of vitamin D deficiency?",
            "Vitamin D deficiency: symptoms to watch for.",
            "Symptoms of a vitamin D deficiency in adults and children.",
        ),
        answers=(
            "Common symptoms of vitamin D deficiency include tiredness, bone pain, muscle weakness or "
            "cramps and low mood, although many people have no symptoms until levels are quite low.",
            "Signs of low vitamin D in adults include fatigue, aches in the bones and lower back, muscle "
            "weakness and getting ill more often; a long, severe deficiency can soften the bones.",
            "In children a lack of vitamin D can cause rickets, with soft bones, bowed legs and delayed "
            "growth, while adults more often notice fatigue, bone pain and muscle weakness.",
            "Symptoms to look out for are persistent fatigue, pain in the bones or joints, muscle aches and "
            "weakness, and frequent infections.",
        ),
        details=(
            "A blood test measuring 25-hydroxyvitamin D is the only reliable way to confirm a deficiency.",
            "People with darker skin, older adults and those who rarely go outside are at higher risk.",
            "Because the symptoms are vague, they are easily mistaken for stress or lack of sleep.",
            "Treatment is usually a course of supplements, and symptoms often improve within weeks to "
            "months.",
            "Talk to a doctor before taking high-dose supplements, because too much vitamin D also causes "
            "problems.",
        ),
        mostly=(
            "Low vitamin D often shows up as tiredness and aching bones, though symptoms vary from person "
            "to person.",
            "Muscle weakness and cramps are among the most frequently reported symptoms of low vitamin D.",
            "A severe vitamin D deficiency can lead to rickets in children and osteomalacia, or soft bones, "
            "in adults.",
        ),
        partial=(
            "Vitamin D deficiency does not always cause obvious symptoms, which is why it often goes "
            "unnoticed.",
            "Low vitamin D has been linked in studies to a range of health problems, though the evidence "
            "varies.",
            "Many effects of a deficiency come from vitamin D's role in absorbing calcium for healthy bones.",
        ),
        related=(
            "Vitamin D is made in the skin when it is exposed to sunlight, especially in spring and summer.",
            "Oily fish such as salmon and sardines, egg yolks and fortified cereals are good dietary "
            "sources of vitamin D.",
            "Health agencies recommend around 10 to 20 micrograms of vitamin D a day for adults, depending "
            "on the country.",
            "Vitamin D helps the body absorb calcium and phosphate from food.",
            "In northern countries the winter sun is too weak for the skin to make enough vitamin D.",
            "Vitamin D2 comes from plants and fungi, while D3 is the form made by the skin.",
        ),
    ),
    Topic(
        query="cheap flights to lisbon in march",
        need="where to find cheap flights to Lisbon in March",
        subject="Lisbon",
        missing="March prices or concrete booking tips",
        keywords=("cheap flights lisbon", "flights to lisbon", "lisbon march", "cheap flights march"),
        headings=(
            "Finding cheap flights to Lisbon in March.",
            "Cheap flights to Lisbon in March: what to expect.",
            "Lisbon in March on a budget: cheap flights and tips.",
        ),
        answers=(
            "Return flights to Lisbon in March typically start around 60 to 120 euros from western European "
            "cities on budget airlines such as Ryanair and easyJet, with midweek departures the cheapest.",
            "March is shoulder season in Lisbon, so flights are cheaper than in summer; book four to eight "
            "weeks ahead and fly on a Tuesday or Wednesday for the cheapest tickets.",
            "For a cheap flight to Lisbon in March, compare fares on a search engine with a flexible-date "
            "calendar, set a price alert, and avoid the weekends around Easter.",
            "From the US, round-trip flights to Lisbon in March often drop below 500 dollars on TAP Air "
            "Portugal, especially from Boston, Newark and New York.",
        ),
        details=(
            "Lisbon airport is only about 7 kilometres from the city centre and is connected by metro.",
            "Weather in March is mild, usually 15 to 19 degrees Celsius, with occasional showers.",
            "Budget carriers charge extra for cabin bags, so check the baggage rules before comparing fares.",
            "Flying into Porto and taking the three-hour train south can sometimes work out cheaper.",
            "Fares rise in late March when Easter falls early, so check the calendar before you book.",
        ),
        mostly=(
            "Flights to Lisbon are cheapest from November to March, and midweek departures save the most.",
            "Budget airlines including Ryanair and easyJet fly to Lisbon from dozens of European airports "
            "at low fares.",
            "Outside the summer peak, including early spring, cheap flights to Lisbon are easy to find.",
        ),
        partial=(
            "Booking about six weeks in advance is usually the sweet spot for cheap European city-break "
            "flights.",
            "Lisbon is a popular spring destination, and prices vary a lot depending on when you book.",
            "Setting up price alerts is a good habit for anyone looking for a cheap flight anywhere.",
        ),
        related=(
            "Lisbon is built on seven hills, and the historic tram 28 winds through the Alfama and Graça "
            "neighbourhoods.",
            "The Belém Tower and the Jerónimos Monastery are both UNESCO World Heritage sites.",
            "Pastéis de nata, the custard tarts of Lisbon, are best eaten warm with a little cinnamon.",
            "A Lisboa Card gives free public transport and entry to many museums for 24, 48 or 72 hours.",
            "Sintra, with its palaces and gardens, is an easy day trip by train from Lisbon's Rossio "
            "station.",
            "Portugal uses the euro, and card payments are accepted almost everywhere in Lisbon.",
        ),
    ),
    Topic(
        query="how to reset a tp-link router to factory settings",
        need="how to reset a TP-Link router to factory settings",
        subject="home routers",
        missing="the step-by-step reset procedure",
        keywords=("tp-link router", "reset tp-link", "factory settings", "router reset factory"),
        headings=(
            "How to reset a TP-Link router to factory settings.",
            "TP-Link router factory reset: restore the factory settings.",
            "Resetting your TP-Link router to its factory settings.",
        ),
        answers=(
            "With the router powered on, press and hold the Reset button on the back for about 10 seconds "
            "until the power LED starts flashing, then release it and wait for the router to reboot.",
            "Use a paper clip to hold down the recessed Reset button for 8 to 10 seconds while the router "
            "is on; when the lights blink and it restarts, all settings are back to the factory defaults.",
            "You can also reset from the web interface: log in at tplinkwifi.net, open System Tools, then "
            "Backup & Restore, and click Factory Restore.",
            "To reset a TP-Link router, keep it plugged in, hold the reset button for roughly ten seconds "
            "until the LEDs flash, then let go and give it a minute or two to boot.",
        ),
        details=(
            "Afterwards, connect using the default Wi-Fi name and password printed on the label underneath.",
            "Back up your configuration first if you want to restore port forwarding rules later.",
            "Do not unplug the router while it is restarting, or the firmware may be damaged.",
            "Older models use admin as the default login; newer ones ask you to create a password on first "
            "login.",
            "On models with separate buttons, make sure you press Reset and not the WPS button.",
        ),
        mostly=(
            "Most routers, TP-Link included, have a small reset button on the back that restores factory "
            "settings when held down for several seconds.",
            "In the TP-Link web interface, the Factory Restore option sits under the backup and restore "
            "settings.",
            "Holding the reset pin for about ten seconds wipes your Wi-Fi name, password and all custom "
            "settings.",
        ),
        partial=(
            "TP-Link routers have a small reset hole on the back; you need a pin or a paper clip to press "
            "the button inside.",
            "A factory reset can be done with the hardware button or from the admin page, depending on what "
            "you can still reach.",
            "TP-Link's support site lists the reset steps for each model, and most involve the reset button.",
        ),
        related=(
            "TP-Link is one of the largest makers of consumer Wi-Fi routers, mesh systems and smart plugs.",
            "Unplugging a router for 30 seconds fixes many connection problems without losing any settings.",
            "Firmware updates often fix security holes and can be installed from the router's admin page.",
            "Mesh Wi-Fi systems use several units to cover a large home with one network name.",
            "The 5 GHz band is faster at short range, while 2.4 GHz reaches further through walls.",
            "Changing the default admin password is one of the first things to do on a new router.",
        ),
    ),
    Topic(
        query="best time to plant tomatoes",
        need="when to plant tomatoes",
        subject="vegetable gardening",
        missing="a clear planting window",
        keywords=("plant tomatoes", "tomato planting time", "best time", "tomatoes"),
        headings=(
            "When is the best time to plant tomatoes?",
            "The best time to plant tomatoes in your garden.",
            "Tomato planting: choosing the best time.",
        ),
        answers=(
            "Plant tomato seedlings outdoors after your last spring frost, once nights stay above about 10 "
            "°C (50 °F) and the soil has warmed to at least 16 °C (60 °F).",
            "The best time to plant tomatoes is one to two weeks after the last frost date, which is mid to "
            "late spring in most temperate climates.",
            "Start tomato seeds indoors six to eight weeks before your last frost, then plant them outside "
            "when the danger of frost has passed and nights are reliably warm.",
            "Wait until the soil is warm and nights no longer drop below 10 °C; in most gardens that means "
            "planting tomatoes out between late April and early June.",
        ),
        details=(
            "Harden off seedlings by putting them outside for a few hours a day over a week before "
            "transplanting.",
            "Plant tomatoes deeply, burying part of the stem, because roots grow along the buried stem.",
            "Cold soil stunts tomatoes, so planting too early rarely gives an earlier harvest.",
            "In hot climates, a second planting in late summer can produce an autumn crop.",
            "Look up your local last frost date with a gardening almanac or extension service.",
        ),
        mostly=(
            "Tomatoes are frost-tender, so they should go into the garden only after the last frost.",
            "In most of the UK, tomato plants can go outside in late May or early June.",
            "Sow tomato seeds indoors in late winter so the seedlings are ready to plant out in spring.",
        ),
        partial=(
            "The right planting date for tomatoes depends on where you live and on your local climate.",
            "Timing matters with tomatoes: plant too early and a cold snap can set them back for weeks.",
            "Many gardeners mark the calendar for tomato planting as soon as the weather warms up.",
        ),
        related=(
            "Tomatoes love warmth and do best with at least six to eight hours of direct sun a day.",
            "Cherry tomatoes are among the easiest varieties for beginners and do well in containers.",
            "Water tomatoes deeply and regularly; uneven watering can cause blossom end rot.",
            "Indeterminate tomato varieties keep growing all season and need tall stakes or cages.",
            "Basil and marigolds are popular companion plants for tomatoes.",
            "Pick tomatoes when they are fully coloured and slightly soft to the touch.",
        ),
    ),
    Topic(
        query="what causes the northern lights",
        need="what causes the northern lights",
        subject="the aurora",
        missing="the full physical mechanism",
        keywords=("northern lights", "what causes northern lights", "northern lights causes", "lights"),
        headings=(
            "What causes the northern lights?",
            "The northern lights: what causes them?",
            "What really causes the northern lights.",
        ),
        answers=(
            "The northern lights are caused by charged particles from the Sun that Earth's magnetic field "
            "guides toward the poles, where they collide with oxygen and nitrogen in the upper atmosphere "
            "and make them glow.",
            "Auroras happen when electrons from the solar wind stream down along magnetic field lines and "
            "excite gas molecules 100 to 300 kilometres up; the gases release that energy as light.",
            "The aurora borealis is light given off by atmospheric gases that have been energised by "
            "particles from the Sun, which Earth's magnetic field funnels into rings around the magnetic "
            "poles.",
            "In short, solar wind particles hit the atmosphere near the poles: oxygen glows green or red "
            "and nitrogen glows blue or purple, producing the curtains of light we call the northern "
            "lights.",
        ),
        details=(
            "Green is the most common colour and comes from oxygen at about 100 to 250 kilometres altitude.",
            "Strong displays follow coronal mass ejections, which send large bursts of particles toward "
            "Earth.",
            "The same process near the South Pole produces the southern lights, or aurora australis.",
            "Auroral activity rises and falls with the Sun's roughly 11-year cycle.",
            "The Kp index, from 0 to 9, measures geomagnetic activity and predicts how far south the lights "
            "will reach.",
        ),
        mostly=(
            "The northern lights are produced when particles from the Sun collide with gases in Earth's "
            "atmosphere.",
            "Earth's magnetic field steers solar particles toward the polar regions, which is why auroras "
            "appear near the poles.",
            "The aurora is driven by the solar wind interacting with Earth's magnetic field.",
        ),
        partial=(
            "The colours of the aurora come from different gases: oxygen gives green and red, nitrogen "
            "gives blue and purple.",
            "Auroras are linked to activity on the Sun, which is why they are more frequent in some years.",
            "The northern lights are an electrical phenomenon in the upper atmosphere, far above the clouds.",
        ),
        related=(
            "Northern Norway, Iceland, Finnish Lapland and northern Canada are among the best places to see "
            "the northern lights.",
            "The best viewing is on clear, dark nights between September and March, away from city lights.",
            "Many Inuit and Sámi traditions tell stories that explain the lights as spirits or messages.",
            "Phone cameras with a night mode can capture auroras that look faint to the naked eye.",
            "The name aurora borealis is usually credited to Galileo, after the Roman goddess of dawn.",
            "Tours from Tromsø and Rovaniemi chase clear skies by bus to improve the chance of a sighting.",
        ),
    ),
    Topic(
        query="how to remove a red wine stain from carpet",
        need="how to remove a red wine stain from carpet",
        subject="stain removal",
        missing="the complete cleaning steps",
        keywords=("red wine stain", "remove wine stain", "carpet stain", "red wine carpet"),
        headings=(
            "How to remove a red wine stain from carpet.",
            "Red wine stain on the carpet? How to remove it.",
            "Removing red wine stains from carpet, step by step.",
        ),
        answers=(
            "Blot up as much wine as you can with a clean white cloth, then mix a tablespoon of dish soap "
            "and a tablespoon of white vinegar with two cups of warm water, sponge it on and keep blotting "
            "until the stain lifts.",
            "Act fast: blot the spill without rubbing, pour a little cold water on it and blot again, then "
            "cover the spot with a paste of baking soda and water, let it dry, and vacuum it up.",
            "For a red wine stain on carpet, blot the excess, dab on hydrogen peroxide mixed with a drop of "
            "dish soap, wait a few minutes, then rinse with cold water and blot dry.",
            "To remove red wine from carpet: blot, dilute the stain with cold water, apply a carpet stain "
            "remover or a vinegar and dish-soap solution, blot from the outside in, and rinse.",
        ),
        details=(
            "Always blot from the outside of the stain toward the centre so it does not spread.",
            "Avoid hot water, which can set the stain into the fibres.",
            "Hydrogen peroxide can bleach dark or wool carpets, so test it somewhere hidden first.",
            "For old, dried stains, a carpet cleaning machine or a professional cleaner may be needed.",
            "Rinse out any cleaning solution afterwards, because leftover soap attracts dirt.",
        ),
        mostly=(
            "Blotting a fresh red wine spill with a clean cloth and cold water removes most of the stain "
            "before it sets.",
            "A paste of baking soda and water draws red wine out of carpet fibres as it dries.",
            "Dish soap mixed with white vinegar and warm water is a reliable homemade cleaner for wine "
            "stains.",
        ),
        partial=(
            "The sooner you deal with a red wine spill, the better the chance of getting it out completely.",
            "Some people swear by pouring white wine on a red wine spill, though cold water works as well.",
            "Rubbing a wine stain only pushes it deeper into the carpet.",
        ),
        related=(
            "Red wine gets its colour from anthocyanins, pigments in the grape skins.",
            "Wool carpets are durable but need gentle, pH-neutral cleaners.",
            "Professional carpet cleaning is recommended every 12 to 18 months in most homes.",
            "Stain-resistant treatments make carpet fibres less absorbent but not stain-proof.",
            "Coffee, red wine and pet accidents are the most common household carpet stains.",
            "Vacuuming high-traffic areas twice a week helps carpets last longer.",
        ),
    ),
    Topic(
        query="difference between roth ira and traditional ira",
        need="the difference between a Roth IRA and a traditional IRA",
        subject="retirement accounts",
        missing="how the tax treatment differs at both ends",
        keywords=("roth ira", "traditional ira", "roth vs traditional ira", "ira difference"),
        headings=(
            "Roth IRA vs traditional IRA: what is the difference?",
            "The difference between a Roth IRA and a traditional IRA.",
            "Traditional IRA or Roth IRA? The key difference.",
        ),
        answers=(
            "The main difference is when you pay tax: traditional IRA contributions may be tax-deductible "
            "now and withdrawals are taxed as income, while Roth IRA contributions are made after tax and "
            "qualified withdrawals are tax-free.",
            "With a traditional IRA you may get a tax break today and pay income tax later; with a Roth IRA "
            "you pay tax today and take money out tax-free in retirement.",
            "A Roth IRA is funded with after-tax dollars and grows tax-free, whereas a traditional IRA is "
            "funded with pre-tax or deductible dollars and is taxed on withdrawal; Roth eligibility is also "
            "limited by income.",
            "Choose a Roth IRA if you expect a higher tax rate in retirement and a traditional IRA if you "
            "expect a lower one, because the two differ mainly in whether contributions or withdrawals are "
            "taxed.",
        ),
        details=(
            "Both accounts share the same annual contribution limit, which the IRS sets each year.",
            "You can withdraw your Roth contributions, but not the earnings, at any time without tax or "
            "penalty.",
            "Traditional IRA deductions phase out at higher incomes if you are also covered by a workplace "
            "plan.",
            "A Roth conversion moves traditional IRA money into a Roth if you pay the tax on it now.",
            "Roth IRAs have no required minimum distributions during the original owner's lifetime.",
        ),
        mostly=(
            "Roth IRA contributions are not tax-deductible, but qualified withdrawals in retirement are "
            "tax-free.",
            "Traditional IRA contributions can lower your taxable income now, but you pay tax when you "
            "withdraw in retirement.",
            "Roth IRAs have income limits for contributions, while anyone with earned income can put money "
            "in a traditional IRA.",
        ),
        partial=(
            "Both kinds of IRA are individual retirement accounts that let investments grow with tax "
            "advantages.",
            "Which IRA is better depends on your income and the tax bracket you expect to be in later.",
            "The two accounts differ mostly in how they are taxed, not in what you can invest in.",
        ),
        related=(
            "A 401(k) is an employer-sponsored retirement plan, often with matching contributions.",
            "Index funds are a popular low-cost choice for long-term retirement investing.",
            "An IRA can be opened at most brokerages, banks and robo-advisers in a few minutes.",
            "The earlier you start saving, the more time compound growth has to work.",
            "Social Security benefits are based on your 35 highest-earning years.",
            "A fiduciary financial adviser is legally required to act in your best interest.",
        ),
    ),
    Topic(
        query="how many hours of sleep does a teenager need",
        need="how many hours of sleep a teenager needs",
        subject="sleep",
        missing="the recommended number of hours",
        keywords=("teenager sleep", "hours of sleep", "how many hours sleep", "teenager need sleep"),
        headings=(
            "How many hours of sleep does a teenager need?",
            "Teenagers and sleep: how many hours do they need?",
            "How many hours of sleep teenagers really need.",
        ),
        answers=(
            "Teenagers aged 13 to 18 need 8 to 10 hours of sleep every night, according to the American "
            "Academy of Sleep Medicine.",
            "Most sleep experts say a teenager needs 8 to 10 hours a night, yet surveys suggest most get "
            "less than 8 hours on school nights.",
            "A teenager should aim for about 9 hours of sleep a night; the recommended range for ages 13 to "
            "18 is 8 to 10 hours.",
            "Health guidelines say teens need 8 to 10 hours of sleep per 24 hours to support growth, "
            "learning and mood.",
        ),
        details=(
            "During puberty the body clock shifts later, so teens naturally feel sleepy later at night.",
            "Early school start times make it hard for many teens to get enough rest.",
            "Screens before bed delay sleep because their light suppresses melatonin.",
            "Sleeping in a little at weekends is fine, but a very different schedule makes Monday mornings "
            "harder.",
            "Chronic sleep loss in teens is linked to poorer grades, low mood and more accidents.",
        ),
        mostly=(
            "Teens need more sleep than adults: at least 8 hours a night, and ideally closer to 9 or 10.",
            "Sleep experts say most teenagers need around nine hours of sleep.",
            "Most teenagers need 8 or more hours of sleep a night, though few actually get it.",
        ),
        partial=(
            "Adults need at least 7 hours of sleep a night, and teenagers need even more.",
            "Teenagers often need more sleep than they get, and many are chronically sleep-deprived.",
            "How much sleep a teen needs varies, but feeling tired during the day is a sign of too little.",
        ),
        related=(
            "Sleep happens in cycles of about 90 minutes, moving through light, deep and REM sleep.",
            "Caffeine can stay in the body for six hours or more, so an afternoon coffee can affect sleep.",
            "A cool, dark and quiet bedroom makes it easier to fall asleep.",
            "Melatonin is a hormone that helps regulate the sleep-wake cycle.",
            "A nap of 20 minutes can boost alertness without leaving you groggy.",
            "Insomnia means trouble falling or staying asleep at least three nights a week.",
        ),
    ),
    Topic(
        query="git undo last commit",
        need="how to undo the last git commit",
        subject="git",
        missing="the exact command for each case",
        keywords=("git undo commit", "undo last commit", "git commit", "git undo"),
        headings=(
            "Git: how to undo the last commit.",
            "How do I undo the last commit in git?",
            "Undo your last git commit (pushed or not).",
        ),
        answers=(
            "To undo the last commit but keep your changes staged, run git reset --soft HEAD~1; use git "
            "reset --hard HEAD~1 instead if you want to throw the changes away.",
            "If the commit is only local, git reset HEAD~1 moves the branch back one commit and leaves the "
            "changes in your working tree; if you already pushed it, git revert HEAD makes a new commit "
            "that undoes it.",
            "Run git reset --soft HEAD~1 to undo the last commit while keeping everything staged, or git "
            "commit --amend if you only want to fix the message or add a forgotten file.",
            "For a pushed commit, git revert HEAD is the safe option because it does not rewrite history; "
            "for an unpushed one, git reset --soft HEAD~1 undoes it and keeps your work.",
        ),
        details=(
            "HEAD~1 means the commit before the current one; HEAD~2 goes back two commits.",
            "git reset --hard discards uncommitted changes for good, so check git status first.",
            "If you reset by mistake, git reflog shows where HEAD was and lets you get back.",
            "Avoid rewriting history on shared branches, because teammates will have to reconcile their "
            "copies.",
            "Resetting a pushed commit means a force push afterwards, which can overwrite other people's "
            "work.",
        ),
        mostly=(
            "git reset --soft HEAD~1 removes the last commit but keeps its changes staged.",
            "Use git revert HEAD to undo the most recent commit with a new commit that reverses it.",
            "git reset HEAD~1 takes the last commit off the branch and leaves its changes as local edits.",
        ),
        partial=(
            "Git lets you undo almost anything, but the right command depends on whether the commit was "
            "pushed.",
            "Resetting and reverting are the two main ways to undo commits in git.",
            "Before undoing a commit, it is worth making a backup branch with git branch backup.",
        ),
        related=(
            "git log --oneline shows a compact history of recent commits.",
            "Branches in git are lightweight pointers to commits, which makes creating them cheap.",
            "git stash saves uncommitted changes so you can switch branches with a clean working tree.",
            "A good commit message starts with a short summary line of about 50 characters.",
            "git diff shows unstaged changes, and git diff --staged shows what goes into the next commit.",
            "Git was created by Linus Torvalds in 2005 to manage Linux kernel development.",
        ),
    ),
    Topic(
        query="what is the capital of australia",
        need="the name of Australia's capital",
        subject="Australia",
        missing="the name of the capital itself",
        keywords=("capital of australia", "australia capital", "australia", "capital city australia"),
        headings=(
            "What is the capital of Australia?",
            "The capital of Australia, explained.",
            "Australia's capital: a common quiz question.",
        ),
        answers=(
            "The capital of Australia is Canberra, a planned city in the Australian Capital Territory, "
            "chosen in 1908 as a compromise between rivals Sydney and Melbourne.",
            "Canberra is the capital of Australia, not Sydney or Melbourne; the federal parliament has met "
            "there since 1927.",
            "Australia's capital city is Canberra, home to Parliament House, the High Court and many "
            "national institutions.",
            "Canberra has been the capital of Australia since it was purpose-built for the role early in "
            "the twentieth century.",
        ),
        details=(
            "The city was designed by the American architects Walter Burley Griffin and Marion Mahony "
            "Griffin.",
            "Lake Burley Griffin, an artificial lake, sits at the centre of the city plan.",
            "Canberra has around 450,000 residents, far fewer than Sydney or Melbourne.",
            "Melbourne served as the temporary seat of government from 1901 until 1927.",
            "The name Canberra is thought to come from a local Aboriginal word, often translated as meeting "
            "place.",
        ),
        mostly=(
            "The federal parliament of Australia sits in Canberra, in the Australian Capital Territory.",
            "Canberra, not Sydney, hosts the federal government and the High Court of Australia.",
            "Many visitors are surprised that the seat of Australia's government is Canberra rather than "
            "Sydney.",
        ),
        partial=(
            "Contrary to popular belief, Sydney is not the capital of Australia.",
            "The capital of Australia is a purpose-built city in its own territory, between Sydney and "
            "Melbourne.",
            "The choice of a national capital was a compromise between the country's two largest cities.",
        ),
        related=(
            "Sydney is Australia's largest city and is famous for its Opera House and Harbour Bridge.",
            "Australia is made up of six states and two major mainland territories.",
            "The Great Barrier Reef stretches for more than 2,300 kilometres off the coast of Queensland.",
            "Melbourne is often ranked among the world's most liveable cities.",
            "Australia became a federation on 1 January 1901.",
            "The Australian dollar has been the country's currency since 1966.",
        ),
    ),
    Topic(
        query="how to convert celsius to fahrenheit",
        need="how to convert Celsius to Fahrenheit",
        subject="temperature scales",
        missing="the exact formula",
        keywords=("convert celsius to fahrenheit", "celsius fahrenheit", "celsius", "fahrenheit converter"),
        headings=(
            "How to convert Celsius to Fahrenheit.",
            "Celsius to Fahrenheit: how to convert.",
            "Converting Celsius to Fahrenheit in your head.",
        ),
        answers=(
            "To convert Celsius to Fahrenheit, multiply the temperature by 9/5 (or 1.8) and add 32: °F = °C "
            "× 1.8 + 32, so 20 °C is 68 °F.",
            "The formula is F = C × 9/5 + 32; for example, 100 °C × 1.8 = 180, plus 32 gives 212 °F, the "
            "boiling point of water.",
            "Multiply degrees Celsius by 1.8, then add 32 to get degrees Fahrenheit; a body temperature of "
            "37 °C works out to 98.6 °F.",
            "Fahrenheit equals Celsius times nine-fifths plus thirty-two, which turns 0 °C into 32 °F and "
            "30 °C into 86 °F.",
        ),
        details=(
            "For a quick estimate, double the Celsius value and add 30; it is close for everyday weather.",
            "To go the other way, subtract 32 from the Fahrenheit value and multiply by 5/9.",
            "The two scales meet at minus 40, where −40 °C equals −40 °F.",
            "A change of one degree Celsius equals a change of 1.8 degrees Fahrenheit.",
            "Most of the world uses Celsius, while the United States mainly uses Fahrenheit.",
        ),
        mostly=(
            "Double the Celsius temperature and add 30 to get a rough Fahrenheit value.",
            "Water freezes at 0 °C (32 °F) and boils at 100 °C (212 °F), so Fahrenheit is offset by 32 and "
            "stretched by 1.8.",
            "Common conversions: 0 °C is 32 °F, 10 °C is 50 °F, 20 °C is 68 °F and 30 °C is 86 °F.",
        ),
        partial=(
            "Converting Celsius to Fahrenheit takes one multiplication and one addition.",
            "Celsius and Fahrenheit use different zero points and different degree sizes, so you cannot "
            "just add a constant.",
            "The conversion uses a factor of 1.8, because a Fahrenheit degree is smaller than a Celsius "
            "degree.",
        ),
        related=(
            "The Celsius scale is named after the Swedish astronomer Anders Celsius.",
            "Daniel Gabriel Fahrenheit proposed his temperature scale in 1724.",
            "The kelvin is the SI unit of temperature, and 0 K is absolute zero.",
            "Normal human body temperature is often quoted as about 37 degrees.",
            "Weather forecasts in the UK use Celsius, though older people often still think in Fahrenheit.",
            "Thermometers once used mercury, but most now use digital sensors or coloured alcohol.",
        ),
    ),
    Topic(
        query="how to change a flat tire",
        need="how to change a flat tire",
        subject="car maintenance",
        missing="the full sequence of steps",
        keywords=("change a flat tire", "flat tire", "tire change", "change tire"),
        headings=(
            "How to change a flat tire.",
            "Flat tire? How to change it safely.",
            "Changing a flat tire in ten steps.",
        ),
        answers=(
            "Park on flat ground, set the parking brake, loosen the lug nuts half a turn, jack up the car, "
            "remove the nuts and the flat tire, fit the spare, lower the car and tighten the nuts in a star "
            "pattern.",
            "To change a flat tire, turn on your hazard lights, loosen the wheel nuts while the wheel is on "
            "the ground, raise the car, swap the wheel for the spare, then lower the car and tighten the "
            "nuts diagonally.",
            "Loosen the lug nuts before jacking the car up, lift it until the flat tire clears the ground, "
            "take off the wheel, mount the spare, and tighten the nuts in a crisscross pattern once it is "
            "back down.",
            "Changing a flat tire takes about 15 minutes: secure the car, loosen the lug nuts, jack it up, "
            "replace the wheel with the spare, and retighten the nuts after lowering it.",
        ),
        details=(
            "Your owner's manual shows where the jacking points are on the underside of the car.",
            "Check the lug nuts again after driving about 50 miles, as they can settle.",
            "Compact spare tires are usually limited to about 50 mph and should be replaced soon.",
            "Put a wheel wedge or a large stone behind the opposite wheel to stop the car rolling.",
            "Never put any part of your body under a car that is held up only by a jack.",
        ),
        mostly=(
            "Loosen the lug nuts slightly before lifting the car, then jack it up and swap the flat tire "
            "for the spare.",
            "Once the car is raised, remove the lug nuts, pull off the flat tire and push the spare onto "
            "the wheel studs.",
            "Secure the car with the parking brake and hazard lights, then loosen the lug nuts and raise it "
            "with the jack.",
        ),
        partial=(
            "You will need the jack, the lug wrench and the spare, which are usually stored under the boot "
            "floor.",
            "Tighten the lug nuts in a star pattern so the wheel seats evenly against the hub.",
            "The first step is always to get the car somewhere flat and safe, away from traffic, with the "
            "hazard lights on.",
        ),
        related=(
            "Check your tire pressure once a month, including the spare.",
            "Tire tread should be at least 1.6 millimetres deep in most of Europe.",
            "Run-flat tires can be driven for a short distance after a puncture.",
            "Rotating your tires every 5,000 to 8,000 miles helps them wear evenly.",
            "Roadside assistance plans often cover flat tires, lockouts and dead batteries.",
            "A tire plug kit can temporarily fix small punctures in the tread.",
        ),
    ),
)

# Spam: {q} is the query, {k1}..{k3} are keywords. Dense on purpose: most words are search terms.
STUFFING_QUERY_TEMPLATES: tuple[str, ...] = (
    "Looking for {q}? Find {k1} and {k2} here.",
    "{Q}? {Q}: {k1}, {k2}, {k3}.",
    "Top {k1} answers for {q} and {k2}.",
    "Related searches: {k1}, {k2}, {k3}, {q}.",
    "Why {q}? Because {k1} and {k2} matter.",
    "Click to read {q} now.",
    "Updated {k1} guide: {q}, {k2} and more.",
)
STUFFING_KEYWORD_TEMPLATES: tuple[str, ...] = (
    "Best {k1} and {k2} tips.",
    "{K1}, {k2}, {k3}.",
    "The number one {k1} site for {k2}.",
    "Everything {k1}, everything {k2}.",
    "Trusted {k1} and {k2} experts.",
    "Bookmark us for {k1}, {k2} and {k3}.",
    "New {k1} and {k2} deals every day.",
)

# Page furniture that fits any topic.
ANSWER_OPENERS: tuple[str, ...] = (
    "Short answer first, details below.",
    "Here is the quick version.",
    "We get asked this a lot.",
)
CLOSERS: tuple[str, ...] = (
    "Was this article helpful? Let us know in the comments.",
    "This page was last reviewed by our editors in January.",
    "Subscribe to our newsletter for more guides like this one.",
    "Share this page with a friend who might find it useful.",
)
