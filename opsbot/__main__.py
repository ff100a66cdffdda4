from opsbot.bot.cli import main

main()
