# The update screen for ferry_updater (Ferry's backend for Ren'Py's updater API).
#
# Put this file and ferry_updater.py in the game's game/ directory (docs/engines/renpy.md). Then:
#
#     textbutton _("Check for updates") action FerryUpdate("https://cdn.example.com/game/", public_key="ferry.pub")
#
# or, from Python, ferry_updater.update(url, public_key="ferry.pub"). The screen reads the Updater's
# fields as Ren'Py's own `updater` screen does: state, message, progress, can_proceed, can_cancel.

init -100 python:

    import ferry_updater

    class FerryUpdate(Action):
        """
        An action that calls ferry_updater.update() in a new context, like Ren'Py's updater.Update.
        All arguments are passed to ferry_updater.update().
        """

        def __init__(self, *args, **kwargs):
            self.args = args
            self.kwargs = kwargs

        def __call__(self):
            renpy.invoke_in_new_context(ferry_updater.update, *self.args, **self.kwargs)

    def ferry_update_size(n):
        """A byte count as the screen shows it."""
        if n is None:
            return ""
        for unit in ("B", "KiB", "MiB", "GiB"):
            if n < 1024 or unit == "GiB":
                return "%.1f %s" % (n, unit) if unit != "B" else "%d B" % n
            n = n / 1024.0

screen ferry_updater(u):

    layer config.interface_layer

    add "#000"

    timer 0.1 repeat True action u.periodic

    frame:
        style_prefix "ferry_updater"

        has side "t c b":
            spacing 10

        label _("Updater")

        fixed:

            vbox:

                if u.state == u.ERROR:
                    text _("An error has occurred:")
                elif u.state == u.CHECKING:
                    text _("Checking for updates.")
                elif u.state == u.UPDATE_NOT_AVAILABLE:
                    text _("This program is up to date.")
                elif u.state == u.UPDATE_AVAILABLE:
                    text _("[u.version] is available. Do you want to install it?")
                elif u.state == u.PREPARING:
                    text _("Preparing to download the updates.")
                elif u.state == u.DOWNLOADING:
                    text _("Downloading the updates.")
                elif u.state == u.UNPACKING:
                    text _("Verifying the updates.")
                elif u.state == u.FINISHING:
                    text _("Finishing up.")
                elif u.state == u.DONE:
                    text _("The updates have been installed. The program will restart.")
                elif u.state == u.DONE_NO_RESTART:
                    text _("The updates have been installed.")
                elif u.state == u.CANCELLED:
                    text _("The updates were cancelled.")

                if u.message is not None:
                    null height 10
                    text "[u.message!q]"

                if u.progress is not None:
                    null height 10
                    bar value StaticValue(u.progress or 0.0, 1.0)

                if u.state == u.DOWNLOADING and u.download_total:
                    text (ferry_update_size(u.download_done) + " / " + ferry_update_size(u.download_total)) substitute False

        hbox:

            spacing 25

            if u.can_proceed:
                textbutton _("Proceed") action u.proceed

            if u.can_cancel:
                textbutton _("Cancel") action u.cancel

style ferry_updater_frame:
    xalign 0.5
    yalign 0.5
    xsize 0.6
    ysize 0.5
    padding (20, 20)

style ferry_updater_vbox:
    xfill True
