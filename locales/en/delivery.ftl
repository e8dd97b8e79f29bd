## Alert delivery: buttons under every alert and the header of a coalesced message.

delivery-btn-flow = 📊 Flow
delivery-btn-mute = 🔕 Mute 1h
delivery-btn-thresholds = ⚙️ Thresholds
delivery-btn-flow-symbol = 📊 { $symbol } flow
delivery-btn-mute-symbol = 🔕 Mute { $symbol } 1h
delivery-coalesced-header = 🗂 <b>{ $count } alerts</b> in the last seconds
