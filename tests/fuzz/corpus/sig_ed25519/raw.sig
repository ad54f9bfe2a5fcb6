aBY¶Σ{F³hσId-ny9Pl5QβΐRÒΗ°…sΣ.έσWΨ:ζ―^®Gyυi‚Fδa
ΛΉΩ	·