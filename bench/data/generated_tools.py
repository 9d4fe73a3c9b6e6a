"""Generated tools for the tool-retrieval benchmark: MCP-style servers for common products.

Each line is ``name | description | args`` where args are ``name:type:description``
separated by ``; `` (a leading ``*`` marks a required argument). They read like
real servers' listings (several products share tool shapes, as GitHub's and
GitLab's do), so a query has to find the right product as well as the right verb.
"""

from __future__ import annotations

from typing import Any

DOMAINS: dict[str, str] = {
    "google-calendar": """
list_events | List events on a Google Calendar between two dates, with titles, times, locations and attendees. | calendar_id:string:Calendar to read, default primary; *time_min:string:ISO 8601 start; *time_max:string:ISO 8601 end
get_event | Get one calendar event by id, including its description, conference link and attendee responses. | *event_id:string:The event id
create_event | Create a calendar event with a title, start and end time, optional location and invitees. | *summary:string:Event title; *start:string:ISO start time; *end:string:ISO end time; attendees:array:Email addresses to invite; location:string:Where
update_event | Change an existing event's time, title, location or description. | *event_id:string:The event id; start:string:New start; end:string:New end; summary:string:New title
delete_event | Cancel and delete a calendar event, optionally notifying attendees. | *event_id:string:The event id; notify:boolean:Email the attendees
find_free_slots | Find time slots when all the given people are free, within working hours. | *attendees:array:Email addresses; *duration_minutes:integer:Meeting length; *window_start:string:Earliest; *window_end:string:Latest
list_calendars | List the calendars the user can see, with their ids and colors. |
respond_to_invite | Accept, decline or tentatively accept a meeting invitation. | *event_id:string:The event id; *response:string:accepted, declined or tentative
""",
    "gmail": """
search_emails | Search the mailbox with Gmail query syntax (from:, subject:, has:attachment, newer_than:) and return matching messages. | *query:string:Gmail search query; max_results:integer:How many
read_email | Read one email message: headers, plain-text body and the list of attachments. | *message_id:string:The message id
send_email | Send an email to one or more recipients with a subject and a body. | *to:array:Recipients; *subject:string:Subject line; *body:string:Message text; cc:array:Copy to
draft_email | Save an email as a draft without sending it. | *to:array:Recipients; *subject:string:Subject line; *body:string:Message text
reply_to_email | Reply to an email message, keeping it in the same thread. | *message_id:string:Message to answer; *body:string:Reply text; reply_all:boolean:Answer everyone
forward_email | Forward an email message, with its attachments, to other people. | *message_id:string:Message to forward; *to:array:Recipients; note:string:Text added on top
archive_email | Archive messages: remove them from the inbox without deleting them. | *message_ids:array:Messages to archive
label_email | Add or remove labels on email messages. | *message_ids:array:Messages; add:array:Labels to add; remove:array:Labels to remove
download_attachment | Download an email attachment to a local file. | *message_id:string:The message; *attachment_id:string:The attachment; *path:string:Where to save
""",
    "jira": """
search_issues | Search Jira issues with JQL and return key, summary, status and assignee. | *jql:string:JQL query; max_results:integer:How many
get_issue | Get a Jira issue by key with its description, comments, status and links. | *issue_key:string:Like PROJ-123
create_issue | Create a Jira issue (bug, task or story) in a project. | *project_key:string:Project; *summary:string:Title; description:string:Details; issue_type:string:Bug, Task or Story
update_issue | Update fields of a Jira issue: summary, description, priority, labels. | *issue_key:string:Issue; fields:object:Fields to set
transition_issue | Move a Jira issue to another workflow status, like In Progress or Done. | *issue_key:string:Issue; *status:string:Target status
add_comment | Add a comment to a Jira issue. | *issue_key:string:Issue; *body:string:Comment text
assign_issue | Assign a Jira issue to a user. | *issue_key:string:Issue; *assignee:string:Account id or email
list_sprints | List the sprints of a Jira board with their dates and state. | *board_id:integer:Board
log_work | Log time spent on a Jira issue. | *issue_key:string:Issue; *time_spent:string:Like 2h 30m; comment:string:What was done
""",
    "linear": """
list_issues | List Linear issues for a team, filtered by state, assignee or label. | team:string:Team key; state:string:Workflow state; assignee:string:User
create_issue | Create an issue in Linear for a team, with a title, description and priority. | *team:string:Team key; *title:string:Title; description:string:Markdown body; priority:integer:0 to 4
update_issue | Change a Linear issue's state, assignee, priority or estimate. | *issue_id:string:Like ENG-42; state:string:New state; assignee:string:User
list_cycles | List a Linear team's cycles (sprints) and their progress. | *team:string:Team key
add_comment | Comment on a Linear issue. | *issue_id:string:Issue; *body:string:Markdown comment
get_issue | Get a Linear issue with its sub-issues, comments and history. | *issue_id:string:Issue identifier
list_projects | List Linear projects with their status, lead and target date. |
""",
    "notion": """
search | Search Notion pages and databases the integration can access by title. | *query:string:Text to look for
get_page | Read a Notion page's properties and its content blocks as text. | *page_id:string:Page id
create_page | Create a new Notion page under a parent page or in a database. | *parent_id:string:Parent page or database; *title:string:Page title; content:string:Markdown body
append_blocks | Append paragraphs, to-dos or headings to the end of a Notion page. | *page_id:string:Page; *markdown:string:Content to add
update_page_properties | Set properties of a Notion database page, such as status or due date. | *page_id:string:Page; *properties:object:Property values
query_database | Query a Notion database with filters and sorts and return its rows. | *database_id:string:Database; filter:object:Notion filter; sorts:array:Sort rules
list_databases | List the Notion databases shared with the integration. |
""",
    "confluence": """
search_content | Search Confluence pages and blog posts with CQL or plain text. | *query:string:Text or CQL
get_page | Get a Confluence page's body in storage format or as plain text. | *page_id:string:Page id
create_page | Create a Confluence page in a space, optionally under a parent page. | *space_key:string:Space; *title:string:Title; *body:string:Content; parent_id:string:Parent page
update_page | Replace the body of an existing Confluence page, creating a new version. | *page_id:string:Page; *body:string:New content; version_comment:string:Why
list_spaces | List Confluence spaces with their keys and descriptions. |
get_page_history | List the versions of a Confluence page with authors and dates. | *page_id:string:Page
""",
    "stripe": """
create_customer | Create a Stripe customer with an email, name and optional metadata. | *email:string:Email; name:string:Full name
list_customers | List Stripe customers, optionally filtered by email. | email:string:Filter; limit:integer:How many
create_invoice | Create and finalize a Stripe invoice for a customer with line items. | *customer_id:string:Customer; *items:array:Line items with amount and description
list_invoices | List invoices, filtered by customer or status (draft, open, paid). | customer_id:string:Customer; status:string:Status
create_payment_link | Create a shareable Stripe payment link for a price. | *price_id:string:Price; quantity:integer:Quantity
refund_payment | Refund a Stripe payment in full or in part. | *payment_intent_id:string:Payment; amount:integer:Cents to refund, default all
get_balance | Get the Stripe account's available and pending balance per currency. |
create_subscription | Subscribe a customer to a recurring price. | *customer_id:string:Customer; *price_id:string:Recurring price
cancel_subscription | Cancel a customer's subscription now or at the end of the period. | *subscription_id:string:Subscription; at_period_end:boolean:Wait for period end
""",
    "shopify": """
list_products | List products in the Shopify store with their variants, prices and stock. | query:string:Title filter; limit:integer:How many
create_product | Add a new product to the Shopify store with title, description, price and images. | *title:string:Product name; *price:number:Price; description:string:HTML description
update_inventory | Set the available stock of a product variant at a location. | *variant_id:string:Variant; *quantity:integer:New quantity; location_id:string:Location
list_orders | List Shopify orders by status, date range or customer. | status:string:open, closed or any; created_after:string:Date
get_order | Get one Shopify order with line items, shipping address and payment status. | *order_id:string:Order
fulfill_order | Mark an order as fulfilled and add a tracking number. | *order_id:string:Order; tracking_number:string:Carrier tracking number; carrier:string:Carrier
create_discount_code | Create a discount code for a percentage or fixed amount off. | *code:string:The code; *value:number:Amount; *type:string:percentage or fixed
""",
    "kubernetes": """
list_pods | List pods in a Kubernetes namespace with their status, restarts and age. | namespace:string:Namespace, default default; label_selector:string:Labels
get_pod_logs | Get the logs of a pod's container, optionally only the last lines or previous instance. | *pod:string:Pod name; namespace:string:Namespace; tail_lines:integer:Last N lines; previous:boolean:Crashed instance
describe_deployment | Describe a Kubernetes deployment: replicas, image, conditions and recent events. | *name:string:Deployment; namespace:string:Namespace
scale_deployment | Scale a Kubernetes deployment to a number of replicas. | *name:string:Deployment; *replicas:integer:Replicas; namespace:string:Namespace
rollout_restart | Restart a deployment's pods with a rolling update. | *name:string:Deployment; namespace:string:Namespace
list_namespaces | List the namespaces in the Kubernetes cluster. |
apply_manifest | Apply a Kubernetes YAML manifest to the cluster (create or update resources). | *manifest:string:YAML
delete_pod | Delete a pod so that its controller recreates it. | *pod:string:Pod; namespace:string:Namespace
get_events | List recent cluster events in a namespace, warnings first. | namespace:string:Namespace
""",
    "docker": """
list_containers | List Docker containers with their image, status and ports. | all:boolean:Include stopped ones
start_container | Start a stopped Docker container. | *container:string:Name or id
stop_container | Stop a running Docker container. | *container:string:Name or id
container_logs | Read a Docker container's logs. | *container:string:Name or id; tail:integer:Last N lines
pull_image | Pull a Docker image from a registry. | *image:string:Like nginx:latest
run_container | Create and start a container from an image with ports, volumes and environment. | *image:string:Image; ports:array:host:container mappings; env:object:Variables; name:string:Container name
remove_container | Remove a Docker container. | *container:string:Name or id; force:boolean:Kill first
build_image | Build a Docker image from a Dockerfile in a folder. | *context:string:Build folder; *tag:string:Image tag
""",
    "aws-s3": """
list_buckets | List the S3 buckets in the AWS account. |
list_objects | List objects in an S3 bucket under a prefix. | *bucket:string:Bucket; prefix:string:Key prefix
get_object | Download an S3 object and return its text or save it to a file. | *bucket:string:Bucket; *key:string:Object key
put_object | Upload text or a local file to S3 as an object. | *bucket:string:Bucket; *key:string:Object key; *source:string:File path or text
delete_object | Delete an object from an S3 bucket. | *bucket:string:Bucket; *key:string:Object key
presigned_url | Create a time-limited presigned URL to download an S3 object. | *bucket:string:Bucket; *key:string:Key; expires_in:integer:Seconds
""",
    "aws": """
describe_instances | Describe EC2 instances with their state, type, IPs and tags. | filters:object:EC2 filters; region:string:Region
start_instance | Start a stopped EC2 instance. | *instance_id:string:Instance
stop_instance | Stop a running EC2 instance. | *instance_id:string:Instance
get_metric_statistics | Get CloudWatch metric statistics (average, max) for a resource over time. | *namespace:string:Like AWS/EC2; *metric:string:Like CPUUtilization; *start:string:Start; *end:string:End
list_alarms | List CloudWatch alarms and whether they are firing. | state:string:OK, ALARM or INSUFFICIENT_DATA
get_log_events | Read CloudWatch Logs events from a log group, filtered by a pattern. | *log_group:string:Log group; filter_pattern:string:Pattern; start:string:Since
get_cost_and_usage | Get the AWS bill broken down by service for a date range. | *start:string:Start date; *end:string:End date; granularity:string:DAILY or MONTHLY
""",
    "weather": """
get_current_weather | Current temperature, wind, humidity and conditions for a city or coordinates. | *location:string:City or lat,lon; units:string:metric or imperial
get_forecast | Hourly and daily weather forecast for the next days at a location. | *location:string:City or lat,lon; days:integer:Up to 10
get_air_quality | Air quality index and pollutant levels (PM2.5, ozone) at a location. | *location:string:City or lat,lon
get_weather_alerts | Active severe weather warnings (storms, floods, heat) for a region. | *region:string:State, country or coordinates
get_historical_weather | Observed weather for a past date at a location. | *location:string:City; *date:string:YYYY-MM-DD
""",
    "spotify": """
search_tracks | Search Spotify for songs, albums or artists. | *query:string:What to find; type:string:track, album or artist
play | Start or resume playback of a track, album or playlist on the active device. | uri:string:Spotify URI; device_id:string:Device
pause | Pause music playback. |
next_track | Skip to the next song in the queue. |
current_track | Get the song that is playing now, with artist and progress. |
create_playlist | Create a Spotify playlist for the user. | *name:string:Playlist name; public:boolean:Public or private
add_to_playlist | Add tracks to a Spotify playlist. | *playlist_id:string:Playlist; *uris:array:Track URIs
set_volume | Set the playback volume in percent. | *percent:integer:0 to 100
""",
    "todoist": """
list_tasks | List Todoist tasks, filtered by project, label or a filter like today or overdue. | filter:string:Todoist filter; project_id:string:Project
add_task | Add a task to Todoist with a due date, priority and project. | *content:string:Task text; due_string:string:Like tomorrow 9am; priority:integer:1 to 4; project_id:string:Project
complete_task | Mark a Todoist task as done. | *task_id:string:Task
update_task | Change a task's text, due date or priority. | *task_id:string:Task; content:string:Text; due_string:string:Due
delete_task | Delete a Todoist task. | *task_id:string:Task
list_projects | List Todoist projects. |
""",
    "trello": """
list_boards | List the Trello boards of the user. |
list_cards | List the cards on a Trello board or in one list. | *board_id:string:Board; list_id:string:List
create_card | Create a Trello card in a list with a name, description and due date. | *list_id:string:List; *name:string:Card title; desc:string:Description; due:string:Due date
move_card | Move a Trello card to another list (like Doing or Done). | *card_id:string:Card; *list_id:string:Target list
add_checklist | Add a checklist with items to a Trello card. | *card_id:string:Card; *items:array:Checklist items
comment_on_card | Add a comment to a Trello card. | *card_id:string:Card; *text:string:Comment
archive_card | Archive a Trello card. | *card_id:string:Card
""",
    "zendesk": """
list_tickets | List Zendesk support tickets by status, priority or requester. | status:string:new, open, pending, solved; assignee:string:Agent
get_ticket | Get a Zendesk ticket with its conversation history. | *ticket_id:integer:Ticket
create_ticket | Open a new Zendesk ticket on behalf of a customer. | *subject:string:Subject; *description:string:Problem; requester_email:string:Customer email; priority:string:Priority
update_ticket_status | Change a Zendesk ticket's status, for example to solved. | *ticket_id:integer:Ticket; *status:string:New status
reply_to_ticket | Reply to the customer on a Zendesk ticket, publicly or as an internal note. | *ticket_id:integer:Ticket; *body:string:Reply; public:boolean:Visible to the customer
search_tickets | Search Zendesk tickets by text, tags or fields. | *query:string:Search
""",
    "hubspot": """
search_contacts | Search CRM contacts by name, email or company. | *query:string:Search text
create_contact | Create a CRM contact with name, email, phone and company. | *email:string:Email; firstname:string:First name; lastname:string:Last name; company:string:Company
update_contact | Update a CRM contact's properties. | *contact_id:string:Contact; *properties:object:Values
create_deal | Create a sales deal with an amount, stage and associated company. | *name:string:Deal name; amount:number:Value; stage:string:Pipeline stage; company_id:string:Company
update_deal_stage | Move a deal to another pipeline stage, like closed won. | *deal_id:string:Deal; *stage:string:Stage
list_deals | List deals in the sales pipeline with amount, stage and owner. | stage:string:Filter by stage; owner:string:Owner
log_activity | Log a call, meeting or note against a CRM contact or deal. | *object_id:string:Contact or deal; *type:string:call, meeting or note; *body:string:Notes
""",
    "twilio": """
send_sms | Send an SMS text message to a phone number. | *to:string:E.164 phone number; *body:string:Message text
list_messages | List SMS messages sent or received, newest first. | to:string:Filter recipient; from_number:string:Filter sender
make_call | Place a phone call that plays a message or connects to a number. | *to:string:Phone number; *message:string:What to say
get_call_status | Get the status and duration of a phone call. | *call_sid:string:Call id
send_whatsapp | Send a WhatsApp message to a phone number. | *to:string:Phone number; *body:string:Message
""",
    "discord": """
send_message | Post a message to a Discord channel. | *channel_id:string:Channel; *content:string:Message text
read_messages | Read recent messages from a Discord channel. | *channel_id:string:Channel; limit:integer:How many
list_channels | List the channels of a Discord server (guild). | *guild_id:string:Server
create_thread | Start a thread from a Discord message. | *channel_id:string:Channel; *message_id:string:Message; *name:string:Thread name
add_reaction | React to a Discord message with an emoji. | *channel_id:string:Channel; *message_id:string:Message; *emoji:string:Emoji
list_members | List members of a Discord server with their roles. | *guild_id:string:Server
ban_member | Ban a user from a Discord server. | *guild_id:string:Server; *user_id:string:User; reason:string:Why
""",
    "telegram": """
send_message | Send a Telegram message to a chat or user. | *chat_id:string:Chat; *text:string:Message
get_updates | Fetch new incoming Telegram messages for the bot. | offset:integer:Update offset
send_photo | Send an image to a Telegram chat with a caption. | *chat_id:string:Chat; *photo:string:File path or URL; caption:string:Caption
list_chats | List the Telegram chats the bot is part of. |
""",
    "youtube": """
search_videos | Search YouTube for videos matching a query. | *query:string:Search terms; max_results:integer:How many
get_video_details | Get a YouTube video's title, channel, duration, views and description. | *video_id:string:Video id or URL
get_transcript | Get the captions/transcript of a YouTube video as text. | *video_id:string:Video id or URL; language:string:Caption language
list_channel_videos | List the latest uploads of a YouTube channel. | *channel:string:Channel id or handle
get_comments | Read top comments on a YouTube video. | *video_id:string:Video
""",
    "reddit": """
search_posts | Search Reddit posts by keywords, optionally in one subreddit. | *query:string:Keywords; subreddit:string:Subreddit
top_posts | Get the top or hot posts of a subreddit. | *subreddit:string:Subreddit; period:string:day, week, month
get_comments | Read the comment thread of a Reddit post. | *post_id:string:Post
submit_post | Submit a text or link post to a subreddit. | *subreddit:string:Subreddit; *title:string:Title; text:string:Body; url:string:Link
""",
    "wikipedia": """
search | Search Wikipedia articles by keywords. | *query:string:Keywords; lang:string:Language code
get_summary | Get the introduction/summary of a Wikipedia article. | *title:string:Article title
get_article | Get the full text of a Wikipedia article, section by section. | *title:string:Article title
get_links | List the articles a Wikipedia page links to. | *title:string:Article title
""",
    "arxiv": """
search_papers | Search arXiv for scientific papers by keywords, author or category. | *query:string:Query; max_results:integer:How many; sort:string:relevance or date
get_paper | Get an arXiv paper's title, authors, abstract and links by id. | *paper_id:string:Like 2401.01234
download_pdf | Download an arXiv paper's PDF to a local file. | *paper_id:string:Paper; *path:string:Where to save
recent_papers | List the newest papers in an arXiv category such as cs.CL. | *category:string:Category; days:integer:How far back
citations | List papers that cite a given paper (via Semantic Scholar). | *paper_id:string:Paper
""",
    "pdf": """
extract_text | Extract the text of a PDF file, page by page. | *path:string:PDF file; pages:string:Like 1-3,5
extract_tables | Extract tables from a PDF as CSV. | *path:string:PDF file; pages:string:Pages
merge | Merge several PDF files into one. | *paths:array:PDF files in order; *output:string:Result file
split | Split a PDF into separate files by page ranges. | *path:string:PDF file; *ranges:array:Page ranges; *output_dir:string:Folder
metadata | Read a PDF's metadata: title, author, page count, creation date. | *path:string:PDF file
fill_form | Fill the form fields of a PDF and save a copy. | *path:string:PDF form; *values:object:Field values; *output:string:Result file
""",
    "image": """
resize | Resize an image to a width and height or by a percentage. | *path:string:Image file; width:integer:Pixels; height:integer:Pixels; percent:number:Scale
convert_format | Convert an image to another format, like PNG to JPEG or WebP. | *path:string:Image file; *format:string:Target format
crop | Crop an image to a rectangle. | *path:string:Image file; *box:array:left, top, right, bottom
describe | Describe what an image shows, in words (a vision model). | *path:string:Image file
remove_background | Remove the background of a photo, leaving a transparent PNG. | *path:string:Image file
read_exif | Read an image's EXIF data: camera, date taken, GPS location. | *path:string:Image file
""",
    "translate": """
translate_text | Translate text into another language. | *text:string:Text; *target:string:Language code; source:string:Source language, detected if empty
detect_language | Detect which language a text is written in. | *text:string:Text
translate_document | Translate a whole document file (docx, pdf, txt), keeping its layout. | *path:string:File; *target:string:Language code
""",
    "math": """
evaluate | Evaluate a math expression exactly, with fractions, powers and functions. | *expression:string:Like (3/4)^2 + sqrt(2)
solve | Solve an equation or a system of equations for the unknowns. | *equations:array:Equations; variables:array:Unknowns
convert_units | Convert a quantity between units (length, mass, temperature, volume). | *value:number:Amount; *from_unit:string:Unit; *to_unit:string:Unit
statistics | Mean, median, standard deviation and percentiles of a list of numbers. | *values:array:Numbers
plot | Plot a function or data points and save the chart as an image. | *expression:string:Function or data; *path:string:Image file
""",
    "finance": """
stock_quote | Get the latest price, change and volume of a stock ticker. | *symbol:string:Like AAPL
historical_prices | Daily open, high, low and close prices of a stock over a date range. | *symbol:string:Ticker; *start:string:Start date; end:string:End date
company_financials | Income statement, balance sheet and cash flow of a listed company. | *symbol:string:Ticker; period:string:annual or quarterly
crypto_price | Current price of a cryptocurrency such as bitcoin or ether. | *coin:string:Coin; currency:string:Quote currency
exchange_rate | Exchange rate between two currencies, and a converted amount. | *base:string:From currency; *quote:string:To currency; amount:number:Amount
""",
    "news": """
top_headlines | Top news headlines by country and category (business, sports, tech). | country:string:Country code; category:string:Category
search_news | Search news articles from the last weeks by keywords and date. | *query:string:Keywords; from_date:string:Since
""",
    "home-assistant": """
list_entities | List Home Assistant entities (lights, switches, sensors) and their states. | domain:string:Like light or sensor
get_state | Get the current state and attributes of a Home Assistant entity, like a temperature sensor. | *entity_id:string:Like sensor.living_room_temperature
turn_on | Turn on a light, switch or appliance, optionally with brightness or color. | *entity_id:string:Entity; brightness:integer:0 to 255; color:string:Color name
turn_off | Turn off a light, switch or appliance. | *entity_id:string:Entity
set_thermostat | Set a thermostat's target temperature and mode. | *entity_id:string:Thermostat; *temperature:number:Target; mode:string:heat, cool, auto
run_scene | Activate a Home Assistant scene, like movie night. | *scene_id:string:Scene
lock_door | Lock or unlock a smart lock. | *entity_id:string:Lock; *locked:boolean:Lock or unlock
""",
    "obsidian": """
search_notes | Full-text search across the Obsidian vault's notes. | *query:string:Text; folder:string:Limit to a folder
read_note | Read a note from the Obsidian vault by its path. | *path:string:Note path
create_note | Create a new Markdown note in the vault. | *path:string:Note path; *content:string:Markdown
append_to_note | Append text to the end of an existing note, such as today's daily note. | *path:string:Note path; *content:string:Text to add
get_backlinks | List the notes that link to a given note. | *path:string:Note path
list_tags | List the tags used in the vault with their counts. |
""",
    "mongodb": """
list_collections | List the collections in a MongoDB database. | *database:string:Database
find | Find documents in a MongoDB collection matching a filter. | *collection:string:Collection; filter:object:Query filter; limit:integer:How many
insert_one | Insert a document into a MongoDB collection. | *collection:string:Collection; *document:object:Document
update_many | Update the documents matching a filter in a MongoDB collection. | *collection:string:Collection; *filter:object:Filter; *update:object:Update operators
aggregate | Run a MongoDB aggregation pipeline. | *collection:string:Collection; *pipeline:array:Stages
create_index | Create an index on fields of a MongoDB collection. | *collection:string:Collection; *keys:object:Fields and direction
""",
    "mysql": """
run_query | Run a SQL query on the MySQL database and return the rows. | *sql:string:SQL statement
list_tables | List the tables in the MySQL database. |
describe_table | Show a MySQL table's columns, types, keys and indexes. | *table:string:Table
explain_query | Show MySQL's execution plan for a query, to find slow parts. | *sql:string:SQL query
export_csv | Export a table or a query result to a CSV file. | *sql:string:Query; *path:string:CSV file
""",
    "elasticsearch": """
search | Search an Elasticsearch index with a query DSL body or a query string. | *index:string:Index; *query:string:Query string or JSON
list_indices | List Elasticsearch indices with document counts and sizes. |
get_mapping | Get the field mapping of an Elasticsearch index. | *index:string:Index
index_document | Add or replace a document in an Elasticsearch index. | *index:string:Index; *document:object:Document; id:string:Document id
""",
    "sentry": """
list_issues | List unresolved Sentry errors in a project, most frequent first. | *project:string:Project slug; query:string:Search
get_issue | Get a Sentry issue with its latest event and stack trace. | *issue_id:string:Issue
resolve_issue | Mark a Sentry issue as resolved. | *issue_id:string:Issue
list_releases | List releases of a Sentry project with their new issues. | *project:string:Project
""",
    "datadog": """
query_metrics | Query Datadog metrics over a time range, like CPU or request latency. | *query:string:Metric query; *from_ts:string:Start; *to_ts:string:End
list_monitors | List Datadog monitors and which are alerting. | state:string:Alert, Warn or OK
mute_monitor | Silence a Datadog monitor for a while. | *monitor_id:integer:Monitor; end:string:Until when
search_logs | Search Datadog logs by query and time range. | *query:string:Log query; from_ts:string:Start
""",
    "pagerduty": """
list_incidents | List PagerDuty incidents that are triggered or acknowledged. | status:string:triggered, acknowledged, resolved
acknowledge_incident | Acknowledge a PagerDuty incident so escalation stops. | *incident_id:string:Incident
resolve_incident | Resolve a PagerDuty incident. | *incident_id:string:Incident; note:string:Resolution note
who_is_on_call | Show who is on call now for a PagerDuty schedule or service. | schedule:string:Schedule name
""",
    "terraform": """
plan | Run terraform plan in a working directory and summarise the changes. | *dir:string:Working directory; var_file:string:Variables file
apply | Run terraform apply to create or change infrastructure. | *dir:string:Working directory; auto_approve:boolean:Skip the prompt
show_state | List the resources in the Terraform state. | *dir:string:Working directory
validate | Check Terraform configuration files for syntax and consistency errors. | *dir:string:Working directory
""",
    "vercel": """
list_deployments | List Vercel deployments of a project with status and URL. | *project:string:Project
deployment_logs | Get the build and runtime logs of a Vercel deployment. | *deployment_id:string:Deployment
redeploy | Redeploy a previous Vercel deployment, for example to roll back. | *deployment_id:string:Deployment
set_env | Set an environment variable for a Vercel project. | *project:string:Project; *key:string:Name; *value:string:Value; target:string:production or preview
""",
    "figma": """
get_file | Get a Figma file's pages, frames and components. | *file_key:string:File key
get_comments | Read comments left on a Figma file. | *file_key:string:File key
post_comment | Add a comment to a Figma file. | *file_key:string:File key; *message:string:Comment
export_images | Export Figma frames or nodes as PNG or SVG images. | *file_key:string:File key; *node_ids:array:Nodes; format:string:png or svg
""",
    "google-sheets": """
read_range | Read cell values from a Google Sheets range, like Sheet1!A1:D20. | *spreadsheet_id:string:Spreadsheet; *range:string:A1 range
write_range | Write values into a Google Sheets range. | *spreadsheet_id:string:Spreadsheet; *range:string:A1 range; *values:array:Rows
append_rows | Append rows at the end of a Google Sheets table. | *spreadsheet_id:string:Spreadsheet; *sheet:string:Sheet; *rows:array:Rows
create_spreadsheet | Create a new Google Sheets spreadsheet. | *title:string:Title
""",
    "airtable": """
list_records | List records of an Airtable table, with a formula filter and sort. | *base_id:string:Base; *table:string:Table; filter_formula:string:Formula
create_record | Create a record in an Airtable table. | *base_id:string:Base; *table:string:Table; *fields:object:Field values
update_record | Update fields of an Airtable record. | *base_id:string:Base; *table:string:Table; *record_id:string:Record; *fields:object:Values
""",
    "dropbox": """
list_folder | List files and folders in a Dropbox folder. | *path:string:Folder
upload | Upload a local file to Dropbox. | *local_path:string:File; *dropbox_path:string:Destination
download | Download a file from Dropbox to the local disk. | *dropbox_path:string:File; *local_path:string:Destination
share_link | Create a shared link to a Dropbox file or folder. | *path:string:File or folder
search | Search Dropbox for files by name or content. | *query:string:Text
""",
    "travel": """
search_flights | Search flights between two airports on a date, with prices and durations. | *origin:string:Airport code; *destination:string:Airport code; *date:string:Departure date; passengers:integer:Count
flight_status | Get the live status of a flight: delays, gate, departure and arrival times. | *flight_number:string:Like LH400; date:string:Date
search_hotels | Search hotels in a city for dates, with prices and ratings. | *city:string:City; *check_in:string:Date; *check_out:string:Date; guests:integer:Guests
train_connections | Find train connections between two stations. | *from_station:string:From; *to_station:string:To; *departure:string:Date and time
""",
    "zoom": """
create_meeting | Schedule a Zoom meeting and get its join link. | *topic:string:Topic; *start_time:string:Start; duration:integer:Minutes
list_meetings | List upcoming Zoom meetings. |
get_recording_transcript | Get the transcript of a recorded Zoom meeting. | *meeting_id:string:Meeting
""",
    "package-registry": """
npm_search | Search the npm registry for JavaScript packages. | *query:string:Keywords
npm_package_info | Get an npm package's latest version, dependencies, license and weekly downloads. | *name:string:Package
pypi_package_info | Get a PyPI package's versions, requirements and project links. | *name:string:Package
check_vulnerabilities | Check dependencies for known security vulnerabilities (CVEs). | *manifest:string:Path to package.json, requirements.txt or lockfile
""",
    "recipes": """
search_recipes | Find recipes by ingredients, cuisine or diet. | *query:string:Ingredients or dish; diet:string:vegetarian, vegan, gluten-free
nutrition_facts | Calories, protein, fat and carbohydrates of a food or recipe. | *food:string:Food and amount
""",
    "teams": """
send_channel_message | Post a message in a Microsoft Teams channel. | *team_id:string:Team; *channel_id:string:Channel; *text:string:Message
send_chat_message | Send a direct chat message to a colleague in Microsoft Teams. | *user:string:Email or user id; *text:string:Message
list_channels | List the channels of a Microsoft Teams team. | *team_id:string:Team
read_channel_messages | Read recent messages from a Teams channel. | *team_id:string:Team; *channel_id:string:Channel; limit:integer:How many
schedule_teams_meeting | Schedule a Microsoft Teams online meeting with attendees. | *subject:string:Subject; *start:string:Start; *end:string:End; attendees:array:Emails
set_presence | Set your Teams presence status, like busy or away. | *availability:string:Available, Busy, Away, DoNotDisturb
""",
    "outlook": """
list_messages | List Outlook inbox messages, optionally only unread ones or from a sender. | unread_only:boolean:Only unread; sender:string:From address
send_mail | Send an email from an Outlook / Microsoft 365 mailbox. | *to:array:Recipients; *subject:string:Subject; *body:string:Body
move_message | Move an Outlook message to another mail folder. | *message_id:string:Message; *folder:string:Target folder
create_rule | Create an Outlook inbox rule that files or flags incoming mail. | *name:string:Rule name; *conditions:object:Match conditions; *actions:object:What to do
set_out_of_office | Turn on an automatic out-of-office reply with a message and dates. | *message:string:Auto-reply text; start:string:Start; end:string:End
""",
    "asana": """
list_my_tasks | List the Asana tasks assigned to me, due soon first. | workspace:string:Workspace
create_task | Create an Asana task in a project with an assignee and due date. | *project:string:Project; *name:string:Task name; assignee:string:User; due_on:string:Date
complete_task | Mark an Asana task complete. | *task_id:string:Task
add_subtask | Add a subtask under an Asana task. | *parent_id:string:Parent task; *name:string:Subtask name
list_project_tasks | List all tasks in an Asana project with their sections and status. | *project:string:Project
""",
    "github-actions": """
list_workflow_runs | List recent GitHub Actions workflow runs of a repository with their status. | *repo:string:owner/name; branch:string:Branch; status:string:Status
get_run_logs | Download the logs of a failed CI job to see why it failed. | *repo:string:owner/name; *run_id:integer:Run
rerun_workflow | Re-run a GitHub Actions workflow run or only its failed jobs. | *repo:string:owner/name; *run_id:integer:Run; failed_only:boolean:Only failed jobs
trigger_workflow | Trigger a workflow_dispatch workflow on a branch with inputs. | *repo:string:owner/name; *workflow:string:Workflow file; *ref:string:Branch; inputs:object:Inputs
list_artifacts | List the artifacts a workflow run produced. | *repo:string:owner/name; *run_id:integer:Run
cancel_run | Cancel a workflow run that is in progress. | *repo:string:owner/name; *run_id:integer:Run
""",
    "google-docs": """
create_document | Create a Google Doc with a title and initial text. | *title:string:Title; content:string:Text
read_document | Read the text of a Google Doc. | *document_id:string:Document
append_text | Append text to the end of a Google Doc. | *document_id:string:Document; *text:string:Text
replace_text | Find and replace text everywhere in a Google Doc. | *document_id:string:Document; *find:string:Text to find; *replace:string:Replacement
share_file | Share a Google Drive file or doc with someone as viewer, commenter or editor. | *file_id:string:File; *email:string:Person; *role:string:reader, commenter, writer
export_pdf | Export a Google Doc as a PDF file. | *document_id:string:Document; *path:string:Output file
""",
    "mailchimp": """
list_audiences | List Mailchimp audiences (mailing lists) with subscriber counts. |
add_subscriber | Subscribe an email address to a Mailchimp audience. | *list_id:string:Audience; *email:string:Email; merge_fields:object:Name and other fields
create_campaign | Create an email newsletter campaign for an audience. | *list_id:string:Audience; *subject:string:Subject; *html:string:Content
send_campaign | Send a Mailchimp campaign now. | *campaign_id:string:Campaign
campaign_report | Open rate, click rate and unsubscribes of a sent campaign. | *campaign_id:string:Campaign
""",
    "google-analytics": """
run_report | Run a Google Analytics report: sessions, users, conversions by dimension and date range. | *property_id:string:Property; *metrics:array:Metrics; dimensions:array:Dimensions; *start_date:string:Start; *end_date:string:End
realtime_users | Number of active users on the site right now, by page and country. | *property_id:string:Property
top_pages | The most visited pages over a period with views and bounce rate. | *property_id:string:Property; days:integer:Period
""",
    "bigquery": """
run_query | Run a SQL query in BigQuery and return the rows and bytes processed. | *sql:string:Standard SQL; dry_run:boolean:Only estimate cost
list_datasets | List BigQuery datasets in a project. | project:string:Project
get_table_schema | Get the schema of a BigQuery table with column types and descriptions. | *table:string:project.dataset.table
load_csv | Load a CSV file from Cloud Storage into a BigQuery table. | *uri:string:gs:// URI; *table:string:Destination table
""",
    "quickbooks": """
create_invoice | Create a customer invoice in QuickBooks with line items and due date. | *customer:string:Customer; *lines:array:Line items; due_date:string:Due
record_expense | Record a business expense with amount, vendor, category and receipt. | *amount:number:Amount; *vendor:string:Vendor; category:string:Expense account; receipt:string:Receipt file
profit_and_loss | Profit and loss report for a period. | *start:string:Start; *end:string:End
list_unpaid_invoices | List customer invoices that are unpaid or overdue. | overdue_only:boolean:Only overdue
""",
    "rss": """
add_feed | Subscribe to an RSS or Atom feed. | *url:string:Feed URL
list_unread | List unread items from the subscribed feeds. | feed:string:Only this feed
mark_read | Mark feed items as read. | *item_ids:array:Items
""",
    "intercom": """
list_conversations | List open Intercom conversations with customers. | state:string:open, closed, snoozed
reply_conversation | Reply to a customer in an Intercom conversation. | *conversation_id:string:Conversation; *body:string:Reply
find_user | Look up an Intercom user or lead by email, with their attributes and recent activity. | *email:string:Email
tag_conversation | Tag an Intercom conversation, like bug or billing. | *conversation_id:string:Conversation; *tag:string:Tag
""",
    "bookmarks": """
save_bookmark | Save a web page to the read-later list with tags. | *url:string:Page; tags:array:Tags
search_bookmarks | Search saved bookmarks by text or tag. | *query:string:Text or tag
""",
    "password-manager": """
get_login | Get the username and password stored for a website in the password manager. | *site:string:Website or item name
generate_password | Generate a strong random password. | length:integer:Characters; symbols:boolean:Include symbols
""",
    "jupyter": """
run_cell | Run Python code in a Jupyter kernel and return its output and plots. | *code:string:Code; kernel_id:string:Kernel
list_notebooks | List the notebooks in the Jupyter server. |
read_notebook | Read a notebook's cells and outputs. | *path:string:Notebook path
""",
    "bitbucket": """
list_pull_requests | List open pull requests of a Bitbucket repository. | *repo:string:workspace/repo; state:string:OPEN, MERGED, DECLINED
create_pull_request | Open a Bitbucket pull request from one branch into another. | *repo:string:workspace/repo; *source:string:Branch; *destination:string:Branch; *title:string:Title
approve_pull_request | Approve a Bitbucket pull request. | *repo:string:workspace/repo; *pr_id:integer:Pull request
list_pipelines | List Bitbucket Pipelines runs with their result. | *repo:string:workspace/repo
""",
    "clickup": """
create_task | Create a ClickUp task in a list with assignees, priority and due date. | *list_id:string:List; *name:string:Task; due_date:string:Due; priority:integer:1 urgent to 4 low
list_tasks | List the tasks of a ClickUp list, filtered by status or assignee. | *list_id:string:List; statuses:array:Statuses
track_time | Start or stop the ClickUp time tracker on a task. | *task_id:string:Task; *action:string:start or stop
""",
    "ssh": """
run_command | Run a shell command on a remote host over SSH and return its output. | *host:string:Host alias; *command:string:Command
upload_file | Copy a local file to a remote host (scp). | *host:string:Host; *local_path:string:File; *remote_path:string:Destination
list_hosts | List the hosts configured in ~/.ssh/config. |
tail_remote_log | Follow the end of a log file on a remote server. | *host:string:Host; *path:string:Log file; lines:integer:How many
""",
    "speech": """
text_to_speech | Turn text into spoken audio and save it as an MP3 file. | *text:string:Text; voice:string:Voice; *path:string:Output file
transcribe_audio | Transcribe speech in an audio or video file to text, with timestamps. | *path:string:Audio file; language:string:Language
""",
    "pushover": """
push_notification | Send a push notification to the user's phone. | *title:string:Title; *message:string:Text; priority:integer:-2 to 2
desktop_notification | Show a notification on this computer's desktop. | *title:string:Title; *message:string:Text
""",
    "github-gists": """
create_gist | Create a GitHub gist from one or more files, public or secret. | *files:object:Filename to content; description:string:Description; public:boolean:Public
list_gists | List the user's GitHub gists. |
""",
    "snowflake": """
execute_sql | Execute a SQL statement in a Snowflake warehouse and return the results. | *sql:string:SQL; warehouse:string:Warehouse
list_schemas | List the schemas and tables of a Snowflake database. | *database:string:Database
""",
    "contacts": """
find_contact | Find a person in the address book by name and return phone and email. | *name:string:Name
add_contact | Add a person to the address book. | *name:string:Name; phone:string:Phone; email:string:Email
""",
}

_TYPES = {"string", "number", "integer", "boolean", "array", "object"}


def _schema(args: str) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for part in filter(None, (p.strip() for p in args.split("; "))):
        name, kind, description = part.split(":", 2)
        if name.startswith("*"):
            name = name[1:]
            required.append(name)
        if kind not in _TYPES:
            raise ValueError(f"bad type {kind!r} in {part!r}")
        prop: dict[str, Any] = {"type": kind, "description": description}
        if kind == "array":
            prop["items"] = {"type": "string"} if name != "items" else {"type": "object"}
        properties[name] = prop
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def generated_tools() -> list[dict[str, Any]]:
    """Every generated tool as ``{name, description, input_schema, source}``."""
    tools = []
    for server, block in DOMAINS.items():
        for line in filter(None, (x.strip() for x in block.strip().splitlines())):
            parts = [p.strip() for p in line.split("|")]
            name, description, args = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
            tools.append(
                {
                    "name": f"mcp.{server}.{name}",
                    "description": description,
                    "input_schema": _schema(args),
                    "source": "generated",
                }
            )
    return tools
